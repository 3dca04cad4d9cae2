import type { DuckDBConnection } from '@duckdb/node-api';
import { DiagnosticError, error } from '../../diagnostics/diagnostics.js';
import { quoteIdent, quoteLiteral } from '../../sql/sql-text.js';
import type { Attachment, ExtensionToLoad, Setting, SettingValue, SetupSource, WarehouseSetup } from '../warehouse-setup.js';
import { DUCKDB } from './dialect.js';
import { withGuardedOptimizers } from './optimizer-guard.js';

/**
 * A warehouse setup (warehouse-setup.ts) as DuckDB statements, and how they run: the
 * extensions, settings and attachments once when the instance opens (attachments and loaded
 * extensions belong to the instance), the settings again on every connection (some, like
 * `search_path`, hold for one connection only). A statement DuckDB refuses becomes a
 * diagnostic at the entry that asked for it: DuckDB's own message names none of the user's
 * files.
 */

function literal(value: SettingValue): string {
  return typeof value === 'string' ? quoteLiteral(value) : String(value);
}

export function loadSql(extension: ExtensionToLoad): string {
  return `LOAD ${quoteIdent(extension.name)}`;
}

export function setSql(setting: Setting): string {
  const value = setting.name.toLowerCase() === 'disabled_optimizers' && typeof setting.value === 'string' ? withGuardedOptimizers(setting.value) : setting.value;
  return `SET ${quoteIdent(setting.name)} = ${literal(value)}`;
}

/**
 * `ATTACH 'path' AS "alias" (TYPE "sqlite", READ_ONLY, "option" value)`. An instance opened
 * read-only attaches read-only too: a dry run or a reader writes nowhere.
 */
export function attachSql(attachment: Attachment, readOnly: boolean): string {
  const options = [
    ...(attachment.type !== undefined ? [`TYPE ${quoteIdent(attachment.type)}`] : []),
    ...(attachment.readOnly || readOnly ? ['READ_ONLY'] : []),
    ...Object.entries(attachment.options).map(([name, value]) => `${quoteIdent(name)} ${literal(value)}`),
  ];
  const alias = attachment.alias !== undefined ? ` AS ${quoteIdent(attachment.alias)}` : '';
  return `ATTACH ${quoteLiteral(attachment.path)}${alias}${options.length > 0 ? ` (${options.join(', ')})` : ''}`;
}

function refused(source: SetupSource, message: string, hint?: string): DiagnosticError {
  return new DiagnosticError([error('warehouse-setup', `${message} (${source.owner})`, source.at, { hint })]);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function extensionFailure(extension: ExtensionToLoad, e: unknown): DiagnosticError {
  const message = messageOf(e);
  if (!/Extension ".*" not found/.test(message)) {
    return refused(extension.source, `extensions: DuckDB cannot load the extension '${extension.name}': ${DUCKDB.headline(message)}`);
  }
  const from = extension.repo === undefined ? '' : ` FROM ${/^[A-Za-z_][A-Za-z0-9_]*$/.test(extension.repo) ? extension.repo : quoteLiteral(extension.repo)}`;
  return refused(
    extension.source,
    `extensions: the DuckDB extension '${extension.name}' is not installed here`,
    `pipe loads extensions but does not install them: install it once with duckdb -c "INSTALL ${extension.name}${from}", ` +
      "or, where DuckDB's extension repository cannot be reached, put its file in ~/.duckdb/extensions/ (see the README); check the name if DuckDB has no such extension",
  );
}

function settingFailure(setting: Setting, e: unknown): Error {
  const message = messageOf(e);
  // DuckDB out of memory as it takes a setting (a memory_limit under what the instance holds as a
  // later connection sets it again, other connections busy with queries): no refusal of the
  // setting, but DuckDB out of memory, said as wherever else it runs out (with what to raise,
  // and whether anything ran).
  if (/^Out of Memory Error: /.test(message)) return DUCKDB.classify(e);
  // DuckDB lists close names for an unknown one: `Did you mean: "memory_limit", ...`.
  const close = /Did you mean: "([^"]+)"/.exec(message)?.[1];
  return refused(
    setting.source,
    `settings: DuckDB refuses the setting '${setting.name}': ${DUCKDB.headline(message)}`,
    close ? `did you mean '${close}'?` : undefined,
  );
}

function attachFailure(attachment: Attachment, e: unknown): DiagnosticError {
  const as = attachment.alias !== undefined ? ` as ${attachment.alias}` : '';
  return refused(attachment.source, `attach: DuckDB cannot attach ${attachment.path}${as}: ${DUCKDB.headline(messageOf(e))}`);
}

async function runEach<T>(connection: DuckDBConnection, entries: readonly T[], sql: (entry: T) => string, failure: (entry: T, e: unknown) => Error): Promise<void> {
  for (const entry of entries) {
    try {
      await connection.run(sql(entry));
    } catch (e) {
      throw failure(entry, e);
    }
  }
}

/** On the first connection of a newly opened instance: load, set, attach, in that order. */
export async function setUpInstance(connection: DuckDBConnection, setup: WarehouseSetup, readOnly: boolean): Promise<void> {
  await runEach(connection, setup.extensions, loadSql, extensionFailure);
  await setUpConnection(connection, setup);
  await runEach(connection, setup.attachments, (a) => attachSql(a, readOnly), attachFailure);
}

/** On every connection: the settings. */
export function setUpConnection(connection: DuckDBConnection, setup: WarehouseSetup): Promise<void> {
  return runEach(connection, setup.settings, setSql, settingFailure);
}
