import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, orgWithUseCase, resolveStack } from '@hub/testing';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchChromium } from './browser.js';

const stack = resolveStack();
const CONSOLE = `${stack.baseUrl}/console/`;
const SCREENSHOTS = fileURLToPath(
  new URL(
    process.env.CONSOLE_SCREENSHOTS === 'docs'
      ? '../../../docs/console/'
      : '../../../.local/screenshots/console/',
    import.meta.url,
  ),
);

// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what the user sees
const seen = (locator: Locator) => expect.poll(() => locator.innerText(), { timeout: 15_000 });

const configuration = (note: string) => ({
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'id' },
        { attribute: 'note', jsonataExpression: note },
      ],
    },
  ],
});
// Every event runs to the mapper's deadline: three of them quarantine the use case (ADR 0015).
const SLOW = '$match(text, /(a+)+$/)';
const TEXT = `${'a'.repeat(40)}!`;

describe('a quarantined use case in the console', () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a banner that says what happened and how to resume; saving a change lifts it and the parked events are mapped', async () => {
    const uc = await orgWithUseCase(stack, 'console-quarantine', configuration(SLOW));
    const ids = ['CQ-1', 'CQ-2', 'CQ-3', 'CQ-4'];
    const sent = await uc.api.request<{ results: Array<{ status: string }> }>(
      'POST',
      '/v3/erp/updates/events',
      {
        integration_id: uc.integrationId,
        events: ids.map((id) => ({
          event_name: 'customer',
          event_type: 'UPDATE',
          group_id: id,
          timestamp: new Date().toISOString(),
          format: 'json',
          payload: { id, text: TEXT },
        })),
      },
    );
    expect(sent.body.results.map((r) => r.status)).toEqual(ids.map(() => 'success'));
    const useCasePath = `/v1/integrations/${uc.integrationId}/use-cases/${uc.useCaseId}`;
    await eventually(
      async () =>
        (await uc.api.request<{ status?: string }>('GET', useCasePath)).body.status === 'quarantined'
          ? true
          : undefined,
      120_000,
      'the use case quarantined',
    );

    const page = await browser.newPage();
    await page.goto(`${CONSOLE}#token=${uc.token}`);
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    // The list of use cases marks it...
    await page.goto(`${CONSOLE}#/integrations/${uc.integrationId}`);
    await seen(page.getByRole('row').filter({ hasText: 'inbound' })).toContain('quarantined');
    // ...and its page says what happened and how to resume.
    await page.goto(`${CONSOLE}#/integrations/${uc.integrationId}/use-cases/${uc.useCaseId}`);
    const banner = page.getByRole('region', { name: 'Quarantined: its events wait, none is lost' });
    await seen(banner).toContain("parks this use case's events instead of mapping them");
    await seen(banner).toContain('hit the mapping budget');
    await seen(banner).toContain('To resume, change the configuration below');
    await seen(banner).toMatch(/Since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    await seen(page.getByRole('heading', { name: /Use case customer/ })).toContain('quarantined');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'use-case-quarantined.png'), fullPage: true });

    const editor = page.getByLabel('Mapping configuration (JSON)');
    await editor.fill((await editor.inputValue()).replace(SLOW, '$uppercase(text)'));
    await page.getByRole('button', { name: 'Save use case' }).click();
    await seen(page.getByRole('status')).toContain('Saved at');
    await banner.waitFor({ state: 'detached' });
    expect((await uc.api.request<{ status?: string }>('GET', useCasePath)).body.status).toBe('active');

    // The parked events are mapped with the saved configuration; the others were dead-lettered before.
    const mapped = await eventually(
      async () => {
        const found: string[] = [];
        for (const id of ids) {
          const res = await uc.api.request<{ results: Array<{ note?: string }> }>(
            'GET',
            `/v1/entity/contact?customer_number=${id}`,
          );
          if (res.body.results[0]?.note === TEXT.toUpperCase()) found.push(id);
        }
        return found.length > 0 ? found : undefined;
      },
      90_000,
      'the parked events mapped after the change',
    );
    expect(mapped.length).toBeGreaterThan(0);
    await page.close();
  }, 300_000);
});
