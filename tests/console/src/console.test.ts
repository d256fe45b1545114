import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiClient, eventually, resolveStack, testToken, uniqueName } from '@hub/testing';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchChromium, remoteOrigins } from './browser.js';

const stack = resolveStack();
const CONSOLE = `${stack.baseUrl}/console/`;
/**
 * Where the screenshots of each screen go: `.local/screenshots/console` on every run (so a test run leaves
 * the tree clean), `docs/console` (what the README shows) with CONSOLE_SCREENSHOTS=docs.
 */
const SCREENSHOTS = fileURLToPath(
  new URL(
    process.env.CONSOLE_SCREENSHOTS === 'docs'
      ? '../../../docs/console/'
      : '../../../.local/screenshots/console/',
    import.meta.url,
  ),
);

/** A token like the stack's, expired an hour ago. */
function expiredToken(orgId: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({
    org_id: orgId,
    sub: `console-test@${orgId}`,
    grants: ['integration:view', 'integration:manage'],
    iss: stack.authIssuer,
    aud: stack.authAudience,
    iat: now - 7200,
    exp: now - 3600,
  })}`;
  return `${body}.${createHmac('sha256', stack.authSecret).update(body).digest('base64url')}`;
}

/** What the user sees in `locator`, retried as a user would wait for the page. */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what the user sees
const seen = (locator: Locator) => expect.poll(() => locator.innerText(), { timeout: 15_000 });

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe('the web console, in Chromium against the running stack', () => {
  const org = uniqueName('console-org');
  // The operator's grant too: the monitoring page shows the pipeline's figures to operators only.
  const token = testToken(stack, org, ['integration:view', 'integration:manage', 'hub:operate']);
  const api = apiClient(stack.baseUrl, token);
  const correlationId = randomUUID();
  let browser: Browser;
  let page: Page;
  let integrationId = '';
  let useCaseId = '';
  let eventId = '';

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('asks for a token when there is none', async () => {
    await page.goto(CONSOLE);
    await seen(page.getByRole('status')).toBe('No token yet: paste one to sign in.');
    await page.getByLabel('Token (JWT)').waitFor();
  });

  it('says the token is expired, and goes back to sign-in', async () => {
    await page.goto(`${CONSOLE}#token=${expiredToken(org)}`);
    await seen(page.getByRole('alert')).toContain('Your token is missing or expired');
    await page.getByLabel('Token (JWT)').waitFor();
  });

  it('says which grant a token lacks', async () => {
    const viewer = await browser.newPage();
    await viewer.goto(`${CONSOLE}#token=${testToken(stack, org, ['integration:view'])}`);
    await viewer.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    await viewer.getByLabel('Name', { exact: true }).fill('Not allowed');
    await viewer.getByRole('button', { name: 'Create integration' }).click();
    await seen(viewer.getByRole('alert')).toBe(
      'Your token lacks the grant integration:manage: ask for a token that has it.',
    );
    await viewer.close();
  });

  it('signs in with the keyboard alone', async () => {
    await page.goto(CONSOLE);
    // The page is drawn by its script after it loads: wait for the form before pressing keys.
    await page.getByLabel('Token (JWT)').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.getByLabel('Token (JWT)').evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    await page.getByText(`organisation ${org}`).waitFor();
  });

  it('signs in from the link’s fragment, which then leaves the address bar', async () => {
    const linked = await browser.newPage();
    await linked.goto(`${CONSOLE}#token=${token}`);
    await linked.getByRole('heading', { name: 'Integrations', exact: true }).waitFor();
    expect(linked.url()).not.toContain(token);
    expect(await linked.evaluate(() => sessionStorage.length)).toBe(1);
    await linked.close();
  });

  it('does not switch organisation on a link’s token alone: it asks, and switches only when told', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${CONSOLE}#token=${token}`);
    await tab.getByText(`organisation ${org}`).waitFor();
    const other = uniqueName('console-other');
    const dialog = tab.getByRole('alertdialog', { name: 'Switch organisation?' });
    // A link opened in the signed-in tab (a hash change), then again after the page was left (a new load).
    await tab.goto(`${CONSOLE}#token=${testToken(stack, other)}`);
    await seen(dialog).toContain(`A link asks to sign you in as organisation ${other}`);
    expect(tab.url()).not.toContain('token=');
    await tab.getByRole('button', { name: 'Stay' }).click();
    await dialog.waitFor({ state: 'detached' });
    await tab.getByText(`organisation ${org}`).waitFor();
    await tab.goto('about:blank');
    await tab.goto(`${CONSOLE}#token=${testToken(stack, other)}`);
    await seen(dialog).toContain(`You are signed in as organisation ${org}`);
    await tab.getByText(`organisation ${org} ·`).waitFor();
    await tab.getByRole('button', { name: `Switch to organisation ${other}` }).click();
    await tab.getByText(`organisation ${other} ·`).waitFor();
    await tab.close();
  });

  it('creates an integration', async () => {
    await page.getByLabel('Name', { exact: true }).fill('SAP (console)');
    await page.getByLabel('Description').fill('Customers from SAP, set up in the browser');
    await page.getByLabel('Description').press('Enter');
    await page.getByRole('heading', { name: 'Use cases', exact: true }).waitFor();
    integrationId = /#\/integrations\/([0-9a-f-]{36})/.exec(page.url())?.[1] ?? '';
    expect(integrationId).not.toBe('');
    const listed = await api.request<{ integrations: Array<{ id: string; name: string }> }>(
      'GET',
      '/v1/integrations',
    );
    expect(listed.body.integrations).toEqual([
      expect.objectContaining({ id: integrationId, name: 'SAP (console)' }),
    ]);

    await page.getByRole('link', { name: 'Integrations', exact: true }).first().click();
    await page.getByRole('link', { name: 'SAP (console)' }).waitFor();
    await shot(page, 'integrations');
    await page.getByRole('link', { name: 'SAP (console)' }).click();
  });

  it('edits and deletes integrations', async () => {
    await page.goto(CONSOLE);
    await page.getByLabel('Name', { exact: true }).fill('Short-lived');
    await page.getByRole('button', { name: 'Create integration' }).click();
    await page.getByRole('heading', { name: 'Use cases', exact: true }).waitFor();

    await page.getByRole('link', { name: 'Integrations', exact: true }).first().click();
    const sap = page.getByRole('row').filter({ hasText: 'SAP (console)' });
    await sap.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('row').filter({ has: page.getByRole('button', { name: 'Save' }) });
    await form.getByLabel('Description').fill('Customers and contracts from SAP');
    await form.getByRole('button', { name: 'Save' }).click();
    await seen(sap).toContain('Customers and contracts from SAP');

    const doomed = page.getByRole('row').filter({ hasText: 'Short-lived' });
    await doomed.getByRole('button', { name: 'Delete' }).click();
    await doomed.getByRole('button', { name: 'Yes, delete' }).click();
    await seen(page.locator('table')).not.toContain('Short-lived');
    const listed = await api.request<{ integrations: Array<{ name: string; description?: string }> }>(
      'GET',
      '/v1/integrations',
    );
    expect(listed.body.integrations).toEqual([
      expect.objectContaining({ name: 'SAP (console)', description: 'Customers and contracts from SAP' }),
    ]);
  });

  it('creates a use case whose mapping reads the customer number from the wrong field', async () => {
    const configuration = {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [
            { attribute: 'customer_number', field: 'customerNo' },
            { attribute: 'first_name', field: 'firstName' },
            { attribute: 'last_name', field: 'lastName' },
          ],
        },
      ],
    };
    await page.getByRole('link', { name: 'SAP (console)' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Customer Sync');
    await page.getByLabel('Mapping configuration (JSON)').fill(JSON.stringify(configuration, null, 2));
    await page.getByRole('button', { name: 'Create use case' }).click();
    await page.getByRole('heading', { name: /Use case Customer Sync/ }).waitFor();
    await page.getByText('enabled', { exact: true }).first().waitFor();
    useCaseId = /use-cases\/([0-9a-f-]{36})/.exec(page.url())?.[1] ?? '';
    expect(useCaseId).not.toBe('');
  });

  it('shows a save’s validation problems at their path in the configuration', async () => {
    const editor = page.getByLabel('Mapping configuration (JSON)');
    const text = await editor.inputValue();
    await editor.fill(text.replace('"entity_schema": "contact"', '"entity_schema": 42'));
    await page.getByRole('button', { name: 'Save use case' }).click();
    const problems = page.locator('.problems');
    await seen(problems).toContain('problem');
    await seen(problems).toContain('entities[0].entity_schema');
    await seen(problems).toContain('(line 4)');
    await shot(page, 'use-case-editor');
    // Nothing was saved: the stored configuration still names the contact schema.
    const stored = await api.request<{ configuration: { entities: Array<{ entity_schema: unknown }> } }>(
      'GET',
      `/v1/integrations/${integrationId}/use-cases/${useCaseId}`,
    );
    expect(stored.body.configuration.entities[0]?.entity_schema).toBe('contact');
  });

  it('disables and enables the use case', async () => {
    const enabled = async () =>
      (
        await api.request<{ enabled: boolean }>(
          'GET',
          `/v1/integrations/${integrationId}/use-cases/${useCaseId}`,
        )
      ).body.enabled;
    await page.getByRole('link', { name: 'Use cases', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: 'customer-sync' });
    await row.getByRole('button', { name: 'Disable Customer Sync' }).click();
    await seen(row).toContain('disabled');
    expect(await enabled()).toBe(false);
    await row.getByRole('button', { name: 'Enable Customer Sync' }).click();
    await seen(row).toContain('enabled');
    expect(await enabled()).toBe(true);
  });

  it('sends an event through the API; the console lists it failed and traces it to the dead letter', async () => {
    const sent = await api.request<{ results: Array<{ status: string; event_id: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: integrationId,
        correlation_id: correlationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp: new Date().toISOString(),
            format: 'json',
            payload: JSON.stringify({ customerId: 'C-42', firstName: 'Ada', lastName: 'Lovelace' }),
          },
        ],
      },
    );
    expect(sent.status).toBe(200);
    expect(sent.body.results[0]?.status).toBe('success');
    eventId = sent.body.results[0]?.event_id ?? '';

    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    const row = page.getByRole('row').filter({ hasText: eventId });
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Search' }).click();
        return (await row.count()) > 0 ? true : undefined;
      },
      60_000,
      'the event in the events list',
    );
    await seen(row).toContain('error');
    await seen(row).toContain('UNIQUE_ID_MISSING');
    await shot(page, 'events');

    await row.getByRole('link', { name: 'Trace' }).click();
    await seen(page.getByRole('heading', { name: /Trace/ })).toContain(correlationId);
    const spans = page.getByRole('list', { name: 'Spans' });
    await seen(spans).toContain('gateway · accepted');
    await seen(spans).toContain('mapper · mapping_failed');
    await spans.getByText('Dead letter').waitFor();
    await shot(page, 'trace');
  });

  it('fixes the mapping in the playground on the stored payload, and saves it', async () => {
    await page.goto(`${CONSOLE}#/integrations/${integrationId}/use-cases/${useCaseId}/playground`);
    await seen(page.getByRole('heading', { name: /Mapping playground/ })).toContain('Customer Sync');
    const recent = page.getByLabel('Recent payloads of this use case');
    await recent.locator(`option[value="${eventId}"]`).waitFor({ state: 'attached' });
    await recent.selectOption(eventId);
    await expect
      .poll(() => page.getByLabel('Payload', { exact: true }).inputValue())
      .toMatch(/"customerId": "C-42"/);

    // The picked event's recorded failure, and the saved mapping reproducing it: nothing mapped.
    await seen(page.locator('.outcomes')).toContain('UNIQUE_ID_MISSING');
    const result = page.locator('.result');
    await page.getByRole('button', { name: 'Run simulation' }).click();
    await seen(result).toContain('Entity updates (0)');
    await seen(result).toContain('Nothing was mapped');
    // ...and says what it dropped and why (issue 20).
    await seen(result.locator('.warnings')).toContain(
      'customer_number: entities[0]: update dropped, UNIQUE_ID_MISSING',
    );

    const editor = page.getByLabel('Mapping configuration (JSON)');
    await editor.fill((await editor.inputValue()).replace('"customerNo"', '"customerId"'));
    await page.getByRole('button', { name: 'Run simulation' }).click();
    await seen(result).toContain('Entity updates (1)');
    await seen(result.getByRole('row', { name: /customer_number/ })).toContain('"C-42"');
    await seen(result.getByRole('row', { name: /first_name/ })).toContain('"Ada"');
    await shot(page, 'playground');

    await page.getByRole('button', { name: 'Save configuration' }).click();
    await seen(page.getByRole('status')).toContain('Configuration saved');

    // The use case is this version now; its history keeps the one the playground replaced.
    await page.getByRole('link', { name: 'Customer Sync' }).click();
    await seen(page.getByText(/^This version:/)).toContain('saved from the mapping playground');
    const history = page.locator('section', { has: page.getByRole('heading', { name: 'History' }) });
    const replaced = history.getByRole('row').nth(1);
    await seen(replaced).toContain('enabled in the console');
    await replaced.getByText('Show').click();
    await seen(replaced).toContain('"customerNo"');
  });

  it('replays the failed event and shows the entity it wrote', async () => {
    await page.goto(`${CONSOLE}#/integrations/${integrationId}/events?correlation_id=${correlationId}`);
    await page.getByLabel('Status').selectOption('error');
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.getByRole('row').filter({ hasText: eventId });
    await seen(row).toContain('UNIQUE_ID_MISSING');
    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Replay selected' }).click();
    const replay = page.locator('section', { has: page.getByRole('heading', { name: 'Replay result' }) });
    await seen(replay).toContain('success');
    await replay.getByRole('link', { name: 'Trace of the replay' }).click();

    const entityLink = page.getByRole('link', { name: /^Entity contact / });
    await eventually(
      async () => {
        if ((await entityLink.count()) > 0) return true;
        await page.reload();
        await page.getByRole('heading', { name: /Trace/ }).waitFor();
        return undefined;
      },
      60_000,
      'the entity written by the replay in its trace',
    );
    await seen(page.getByRole('list', { name: 'Spans' })).toContain('entity-writer · entity_written');
    await entityLink.click();
    await seen(page.getByRole('row', { name: /first_name/ })).toContain('Ada');
    await seen(page.getByRole('row', { name: /customer_number/ })).toContain('C-42');

    const found = await api.request<{ results?: unknown[]; entities?: unknown[] } & Record<string, unknown>>(
      'GET',
      '/v1/entity/contact?customer_number=C-42',
    );
    expect(found.status).toBe(200);
    expect(JSON.stringify(found.body)).toContain('"first_name":"Ada"');
  });

  it('charts the outcomes, counts the errors by code and shows the consumer lag and dead letters', async () => {
    await page.goto(`${CONSOLE}#/integrations/${integrationId}/monitoring`);
    await page.getByRole('heading', { name: 'Monitoring' }).waitFor();
    const stats = page.locator('dl.stats');
    await seen(stats.locator('div', { hasText: 'Errors' })).toContain('1');
    await seen(stats.locator('div', { hasText: 'Success' }).first()).toContain('1');
    await seen(page.getByRole('list', { name: 'Errors by code' })).toContain('UNIQUE_ID_MISSING');
    await page.getByRole('img', { name: 'Outcomes by status over time' }).locator('canvas').waitFor();
    const lag = page.getByRole('table', { name: 'Consumer lag' });
    for (const [group, topic] of [
      ['mapper', 'erp.inbound.events'],
      ['entity-writer', 'erp.entity.updates'],
      ['config-service-monitoring', 'erp.monitoring.events'],
    ]) {
      await seen(lag.getByRole('row').filter({ hasText: group }).first()).toMatch(
        new RegExp(`${topic}\\s+\\d+`),
      );
    }
    // The failed event of this test went to the dead-letter topic, so at least one is retained.
    await seen(page.getByText(/Dead letters retained on erp\.dead-letters: [1-9]/)).toContain(
      'erp.dead-letters',
    );
    await shot(page, 'monitoring');
  });

  it('asked nothing of any other machine, and broke no rule of its Content-Security-Policy', () => {
    expect(browser.requested.length).toBeGreaterThan(10);
    expect(remoteOrigins(browser.requested)).toEqual([]);
    expect(browser.consoleErrors.filter((e) => /Content.Security.Policy/i.test(e))).toEqual([]);
  });
});
