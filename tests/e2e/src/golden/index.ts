/**
 * The golden cases: for each feature a configuration and the events of its steps, the simulation the
 * engine must produce and the entities (and meter readings) the pipeline must store.
 */
import { ENTITY_CASES } from './entities.js';
import { METER_CASES } from './meters.js';
import { RELATION_CASES } from './relations.js';
import type { GoldenCase } from './types.js';

export type { GoldenCase, GoldenStep } from './types.js';
export const CASES: GoldenCase[] = [...ENTITY_CASES, ...RELATION_CASES, ...METER_CASES];
