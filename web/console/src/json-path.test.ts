import { describe, expect, it } from 'vitest';
import { problemsOf } from './api';
import { locate, parsePath } from './json-path';

const text = JSON.stringify(
  {
    entities: [
      {
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        fields: [{ attribute: 'customer_number', field: 'customerId' }, { attribute: 'email' }],
      },
    ],
  },
  null,
  2,
);

describe('finding a problem’s path in the edited JSON', () => {
  it('splits paths into keys and indexes', () => {
    expect(parsePath('entities[0].fields[12].attribute')).toEqual(['entities', 0, 'fields', 12, 'attribute']);
  });

  it('gives the line of the value the path names', () => {
    expect(locate(text, 'entities[0].entity_schema')?.line).toBe(4);
    expect(locate(text, 'entities[0].fields[1].attribute')?.line).toBe(14);
  });

  it('falls back to the deepest part that exists (a missing property: its object)', () => {
    expect(locate(text, 'entities[0].fields[1].field')?.line).toBe(13);
    expect(locate(text, 'entities[3]')?.line).toBe(2);
  });

  it('finds nothing in text that is not JSON', () => {
    expect(locate('{ "entities": [', 'entities')).toBeUndefined();
  });
});

describe('the problems of a rejected configuration', () => {
  it('splits the API’s message into one problem per path', () => {
    expect(
      problemsOf(
        'invalid configuration: body.configuration.entities[0].entity_schema: must be string; body.configuration.entities[0].fields: must have at least 1 item',
      ),
    ).toEqual([
      { path: 'body.configuration.entities[0].entity_schema', message: 'must be string' },
      { path: 'body.configuration.entities[0].fields', message: 'must have at least 1 item' },
    ]);
  });
});
