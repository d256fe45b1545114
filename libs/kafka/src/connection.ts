import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';

/** The connection settings of a service's configuration (KafkaEnv of libs/config, checked there). */
export interface KafkaConnectionEnv {
  KAFKA_BROKERS: string[];
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE?: string | undefined;
  KAFKA_SSL_CERT_FILE?: string | undefined;
  KAFKA_SSL_KEY_FILE?: string | undefined;
  KAFKA_SSL_REJECT_UNAUTHORIZED: boolean;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
}

/** How to reach the brokers: their addresses, TLS and SASL (the part of KafkaSettings a configuration sets). */
export interface KafkaConnection {
  brokers: string[];
  ssl?: ConnectionOptions | undefined;
  sasl?: SASLOptions | undefined;
}

/** Reads the configured TLS files and builds kafkajs' `ssl` and `sasl` options. */
export function kafkaConnectionFrom(env: KafkaConnectionEnv): KafkaConnection {
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file, 'utf8'));
  const ssl: ConnectionOptions | undefined = env.KAFKA_SSL
    ? {
        rejectUnauthorized: env.KAFKA_SSL_REJECT_UNAUTHORIZED,
        ...(env.KAFKA_SSL_CA_FILE ? { ca: [read(env.KAFKA_SSL_CA_FILE) as string] } : {}),
        ...(env.KAFKA_SSL_CERT_FILE ? { cert: read(env.KAFKA_SSL_CERT_FILE) } : {}),
        ...(env.KAFKA_SSL_KEY_FILE ? { key: read(env.KAFKA_SSL_KEY_FILE) } : {}),
      }
    : undefined;
  const mechanism = env.KAFKA_SASL_MECHANISM;
  const sasl: SASLOptions | undefined =
    mechanism && env.KAFKA_SASL_USERNAME !== undefined && env.KAFKA_SASL_PASSWORD !== undefined
      ? { mechanism, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD }
      : undefined;
  return { brokers: env.KAFKA_BROKERS, ssl, sasl };
}
