/**
 * The golden cases: for each feature a configuration and the events of its steps, the simulation the
 * engine must produce and the entities (and meter readings) the pipeline must store. Stored state is
 * projected by golden-harness.ts: `<schema>/<label>` instead of entity ids, relation_refs dereferenced.
 */
import type { MappingSimulationResponse } from '@hub/mapping';
import type { Ids, StoredState } from '../golden-harness.js';

export interface GoldenStep {
  /** The event payload; a function when it names an entity by `_id`. */
  payload: Record<string, unknown> | ((ids: Ids) => Record<string, unknown>);
  /** Exactly what `simulate` returns for the payload (empty lists may be left out). */
  simulation: Partial<MappingSimulationResponse> | ((ids: Ids) => Partial<MappingSimulationResponse>);
  /** Every entity of the labelled schemas after the step (and `meter_readings` when given). */
  stored: StoredState;
}

export interface GoldenCase {
  name: string;
  configuration: Record<string, unknown>;
  steps: GoldenStep[];
}
