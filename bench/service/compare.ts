import os from 'node:os';
import { figureRows, notes, type Figures } from './figures';
import { MACHINE, type Shares } from './usage';

/** One setup's figures under its label ("SQLite", "PG, 1 instance", …). */
export type Column = { label: string; figures: Figures };

const cores = (ms: number, seconds: number) => (ms / 1000 / seconds).toFixed(2);

/**
 * The figures of several setups side by side, one column each, rows as in figureRows. A cell
 * with a ceiling reads "value / ceiling = ratio", the ceiling being that setup's own, measured
 * alternating with it (so a PostgreSQL column is compared with the bare PostgreSQL INSERT).
 */
export function comparisonTable(columns: Column[]): { header: string[]; rows: string[][] } {
  const all = columns.map((c) => figureRows(c.figures));
  const header = ['figure', ...columns.map((c) => c.label), 'goal', 'met? (column by column)'];
  const rows = all[0].map((first, i) => {
    const cells = all.map((rows) => {
      const [, value, ceiling, ratio] = rows[i];
      return ceiling ? `${value} / ${ceiling} = ${ratio}` : value;
    });
    const [goal, mets] = [first[4], all.map((rows) => rows[i][5] || '–')];
    return [first[0], ...cells, goal, !goal ? '' : new Set(mets).size === 1 ? mets[0] : mets.join(' / ')];
  });
  return { header, rows };
}

/** Where the CPU went during a timed run: cores each watched process group used, their sum, and the whole machine's against its cores. */
function coresLine(what: string, { seconds, ms }: Shares): string {
  const { [MACHINE]: machine, ...ours } = ms;
  const parts = Object.entries(ours).map(([name, used]) => `${name} ${cores(used, seconds)}`);
  const sum = Object.values(ours).reduce((a, b) => a + b, 0);
  const whole = machine === undefined ? '' : `; the whole machine ${cores(machine, seconds)}`;
  return `${what} (${seconds.toFixed(1)} s), CPU in cores: ${parts.join(', ')}; these together ${cores(sum, seconds)}${whole} of ${os.cpus().length}`;
}

/** Each column's notes (figures.ts), and where its CPU went, under its label. */
export function columnNotes(c: Column): string[] {
  const { ingest, delivery, ratings } = c.figures;
  const sent = delivery.perInstance;
  return [
    ...notes(c.figures).map((line) => `${c.label}: ${line}`),
    ...(sent ? [`${c.label}: delivery: each instance's worker sent ${sent.join(' + ')} emails`] : []),
    ...(ingest.service.perTransaction ? [`${c.label}: ingest, timed run: ${ingest.service.perTransaction.toFixed(1)} webhooks per write transaction (group commit; closeloop_write_batch_size)`] : []),
    `${c.label}: ${coresLine('ingest ceiling, timed run', ingest.ceiling.shares)}`,
    `${c.label}: ${coresLine('ingest, timed run', ingest.service.shares)}`,
    `${c.label}: ${coresLine('rating POST at full speed', ratings.maxShares)}`,
  ];
}
