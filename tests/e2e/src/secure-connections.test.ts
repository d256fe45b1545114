/**
 * Issue 12, item 5 on the real stack: Kafka over TLS with SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and
 * MongoDB over TLS, set through the validated configuration. The local broker and database also listen
 * that way (deploy/local/stack.mjs: SASL_SSL and TLS listeners with a CA of the stack's own).
 */
import { ConfigError } from '@hub/config';
import { loadGatewayConfig } from '@hub/ingest-gateway/config';
import { KafkaClient, kafkaConnectionFrom } from '@hub/kafka';
import { MongoStore, mongoConnectionFrom } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import {
  apiClient,
  devEnv,
  eventually,
  killInstances,
  orgWithUseCase,
  resolveStack,
  spawnInstance,
  startInstance,
} from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'secure-connections-test', level: 'silent' });
afterAll(killInstances);
/** The containers of `HUB_INFRA=containers` (testcontainers' Kafka and MongoDB images) have no such listeners. */
const onLocalStack = process.env.HUB_INFRA !== 'containers';

/** The secure settings as a deployment sets them (environment variables), for the local listeners. */
const secureEnv = (mechanism: string, password = stack.secure.password): Record<string, string> => ({
  KAFKA_BROKERS: stack.secure.kafkaBrokers.join(','),
  KAFKA_SSL: 'true',
  KAFKA_SSL_CA_FILE: stack.secure.caFile,
  KAFKA_SASL_MECHANISM: mechanism,
  KAFKA_SASL_USERNAME: stack.secure.username,
  KAFKA_SASL_PASSWORD: password,
  MONGO_URL: stack.secure.mongoUrl,
  MONGO_TLS_CA_FILE: stack.secure.caFile,
});

/** The ingest gateway's configuration: the local stack's, with `env` over it. */
const load = (env: Record<string, string>) => loadGatewayConfig({ ...devEnv(), ...env });

/** Lists the broker's topics through a client made from the configuration, as a service makes it. */
async function listTopics(env: Record<string, string>): Promise<string[]> {
  const client = new KafkaClient({ clientId: 'secure-test', ...kafkaConnectionFrom(load(env)), logger });
  const admin = client.kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

describe.runIf(onLocalStack)('Kafka over TLS with SASL', () => {
  it.each(['scram-sha-512', 'scram-sha-256', 'plain'])('connects with %s', async (mechanism) => {
    const topics = await listTopics(secureEnv(mechanism));
    expect(topics).toContain('erp.inbound.events');
  });

  it('says the credentials were refused when the password is wrong', async () => {
    await expect(listTopics(secureEnv('scram-sha-512', 'not-the-password'))).rejects.toThrow(
      /SCRAM SHA512 authentication failed.*invalid credentials/,
    );
  });

  it('says the certificate is not trusted without the CA', async () => {
    const { KAFKA_SSL_CA_FILE: _ca, ...withoutCa } = secureEnv('scram-sha-512');
    await expect(listTopics(withoutCa)).rejects.toThrow(/unable to verify the first certificate/);
  });
});

describe.runIf(onLocalStack)('MongoDB over TLS', () => {
  it('connects with the CA file and refuses a server it cannot verify', async () => {
    const config = load(secureEnv('plain'));
    const store = await MongoStore.connect({
      ...mongoConnectionFrom(config),
      logger,
      appName: 'secure-test',
    });
    try {
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
    const untrusted = MongoStore.connect({ url: config.MONGO_URL, logger, appName: 'secure-test' });
    await expect(untrusted).rejects.toThrow(/unable to verify the first certificate/);
  }, 30_000);
});

describe.runIf(onLocalStack)('a service on the secure listeners', () => {
  it('accepts events with Kafka on SCRAM over TLS and MongoDB on TLS, and the pipeline processes them', async () => {
    const { api, token, integrationId } = await orgWithUseCase(stack, 'secure', {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [{ attribute: 'customer_number', field: 'customerId' }],
        },
      ],
    });
    const gateway = await startInstance(stack, 'ingest-gateway', 24281, {
      ...secureEnv('scram-sha-512'),
      KAFKA_TOPICS: 'check',
    });
    expect(gateway.ready).toMatchObject({ status: 'ok' });
    const secureApi = apiClient(gateway.base, token);
    const accepted = await secureApi.request<{ results: Array<{ status: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integrationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp: new Date().toISOString(),
            format: 'json',
            payload: JSON.stringify({ customerId: 'SECURE-1' }),
          },
        ],
      },
    );
    expect(accepted.status).toBe(200);
    expect(accepted.body.results.map((r) => r.status)).toEqual(['success']);
    const contact = await eventually(
      async () => {
        const list = await api.request<{ results: Array<{ customer_number: string }> }>(
          'GET',
          '/v1/entity/contact?customer_number=SECURE-1',
        );
        return list.body.results[0];
      },
      30_000,
      'the contact sent through the gateway on the secure listeners',
    );
    expect(contact.customer_number).toBe('SECURE-1');
    expect(await gateway.stop()).toBe(0);
  }, 90_000);

  it('exits at start-up naming the refused credentials, without printing the password', async () => {
    const child = spawnInstance(stack, 'ingest-gateway', 24381, {
      ...secureEnv('scram-sha-256', 'wrong-password-0123'),
      LOG_LEVEL: 'info',
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(child.output()).toMatch(
      /"SASL SCRAM SHA256 authentication failed: [^"]*invalid credentials[^"]*".*"msg":"ingest-gateway failed to start"/,
    );
    expect(child.output()).not.toContain('wrong-password-0123');
  }, 60_000);
});

describe('the configuration of secure connections', () => {
  const problems = (env: Record<string, string>) => {
    try {
      load(env);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return [...err.problems];
    }
  };

  it('refuses settings that would not connect as meant, naming each variable', () => {
    const base = { KAFKA_BROKERS: '127.0.0.1:9092', MONGO_URL: 'mongodb://127.0.0.1:27017/erp_hub' };
    expect(
      problems({
        ...base,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      }),
    ).toEqual([
      'KAFKA_SASL_MECHANISM: plain without KAFKA_SSL=true would send the password in clear text; use TLS or SCRAM',
    ]);
    expect(problems({ ...base, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' })).toEqual([
      'KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: KAFKA_SASL_MECHANISM=scram-sha-512 needs both',
    ]);
    expect(problems({ ...base, KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: set, but KAFKA_SASL_MECHANISM is not (plain, scram-sha-256 or scram-sha-512)',
    ]);
    expect(problems({ ...base, KAFKA_SSL_CA_FILE: stack.secure.caFile })).toEqual([
      'KAFKA_SSL_CA_FILE: set, but KAFKA_SSL is not true (the files would not be used)',
    ]);
    expect(problems({ ...base, KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: stack.secure.caFile })).toEqual([
      'KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE: mutual TLS needs both the certificate and its key',
    ]);
    expect(problems({ ...base, MONGO_TLS_CA_FILE: '/nonexistent/ca.pem' })).toEqual([
      'MONGO_TLS_CA_FILE: cannot read /nonexistent/ca.pem (ENOENT)',
    ]);
    expect(problems({ ...base, KAFKA_SASL_MECHANISM: 'gssapi' })[0]).toMatch(/^KAFKA_SASL_MECHANISM: /);
  });

  it('never repeats a password or a URL with credentials in its messages', () => {
    const message = problems({
      KAFKA_BROKERS: '127.0.0.1:9092',
      MONGO_URL: 'postgres://admin:hunter2-secret@db/erp',
    }).join('\n');
    expect(message).toContain('MONGO_URL');
    expect(message).not.toContain('hunter2-secret');
  });
});
