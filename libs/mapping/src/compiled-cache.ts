/**
 * The compiled mappings a sandbox worker keeps, shared fairly between tenants (issue 19, item 3). Each
 * tenant keeps at most `perTenant` mappings (its least recently used one goes first), and when all tenants
 * together hold more than `total`, the tenant holding the most gives up its least recently used one: a
 * tenant that compiles many use cases evicts only its own mappings, never another's. An evicted mapping
 * costs its tenant one recompilation (the sandbox resends its configuration), never an error.
 */
export class CompiledCache<T> {
  /** Per tenant, its mappings by key in use order (a Map iterates in insertion order: first = least recent). */
  private readonly tenants = new Map<string, Map<string, T>>();
  private size = 0;

  constructor(private readonly limits: { perTenant: number; total: number }) {}

  get entries(): number {
    return this.size;
  }

  get(tenant: string, key: string): T | undefined {
    const own = this.tenants.get(tenant);
    const value = own?.get(key);
    if (own && value !== undefined) {
      own.delete(key);
      own.set(key, value); // now the most recently used
    }
    return value;
  }

  /** Stores a tenant's mapping; `replaces` drops that tenant's keys it matches first (older revisions). */
  set(tenant: string, key: string, value: T, replaces?: (key: string) => boolean): void {
    const before = this.tenants.get(tenant);
    if (before)
      for (const k of [...before.keys()]) if (k === key || replaces?.(k)) this.drop(tenant, before, k);
    let own = this.tenants.get(tenant);
    if (!own) {
      own = new Map();
      this.tenants.set(tenant, own);
    }
    own.set(key, value);
    this.size++;
    while (own.size > this.limits.perTenant) this.drop(tenant, own, own.keys().next().value as string);
    while (this.size > this.limits.total) {
      let largest: [string, Map<string, T>] | undefined;
      for (const entry of this.tenants) if (!largest || entry[1].size > largest[1].size) largest = entry;
      if (!largest) break;
      this.drop(largest[0], largest[1], largest[1].keys().next().value as string);
    }
  }

  /** How many mappings a tenant holds. */
  held(tenant: string): number {
    return this.tenants.get(tenant)?.size ?? 0;
  }

  private drop(tenant: string, own: Map<string, T>, key: string): void {
    if (own.delete(key)) this.size--;
    if (own.size === 0) this.tenants.delete(tenant);
  }
}
