import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.js';

const Schema = Type.Object({
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8080 }),
  KAFKA_BROKERS: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  MONGO_URL: Type.String({ pattern: '^mongodb://' }),
  DEBUG: Type.Boolean({ default: false }),
});

describe('loadConfig', () => {
  it('converts types, splits lists and applies defaults', () => {
    const config = loadConfig('svc', Schema, {
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
      MONGO_URL: 'mongodb://127.0.0.1:27017/hub',
      DEBUG: 'true',
    });
    expect(config).toEqual({
      PORT: 8080,
      KAFKA_BROKERS: ['127.0.0.1:9092', '127.0.0.1:9093'],
      MONGO_URL: 'mongodb://127.0.0.1:27017/hub',
      DEBUG: true,
    });
  });

  it('reports every problem at once, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig('svc', Schema, { PORT: 'eighty', MONGO_URL: 'postgres://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('KAFKA_BROKERS');
    expect(problems).toContain('PORT');
    expect(problems).toContain('MONGO_URL');
    expect((error as ConfigError).message).toContain('invalid configuration for svc');
  });
});
