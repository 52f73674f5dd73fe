import fs from 'node:fs';
import path from 'node:path';

/*
 * The README's map is checked against the code: its "Who owns what" table says which folders each
 * folder imports, and this reads every import in src/ and migrations/ (type-only ones too) to see
 * that it is so, that no file imports itself round a cycle, and that no folder reaches into another
 * folder's repository. ESLint (npm run lint) checks runtime cycles and repositories as you type.
 */

const ROOT = path.join(__dirname, '..');
type Graph = Map<string, Set<string>>;

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path.join(dir, e.name)] : []));
}

/** file → the project files it imports (relative imports, `import type` included). */
function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of [...tsFiles('src'), ...tsFiles('migrations')]) {
    const targets = new Set<string>();
    for (const m of fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/(?:from|import)\s+['"](\.[^'"]+)['"]/g)) {
      const base = path.normalize(path.join(path.dirname(file), m[1]));
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(path.join(ROOT, c)));
      if (found) targets.add(found);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The folder a file belongs to: `shared`, `surveys`, … (a subfolder belongs to its area), `migrations`, or `(top)` for src/*.ts. */
export function folderOf(file: string): string {
  const parts = file.split(path.sep);
  if (parts[0] === 'migrations') return 'migrations';
  return parts.length > 2 ? parts[1] : '(top)';
}

/** Every cycle of `graph` (its strongly connected parts with more than one node, or a node importing itself). */
export function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      if (part.length > 1 || graph.get(v)?.has(v)) found.push(part.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const folderGraph = (files: Graph): Graph => {
  const folders: Graph = new Map();
  for (const [from, targets] of files) {
    const set = folders.get(folderOf(from)) ?? new Set<string>();
    for (const to of targets) if (folderOf(to) !== folderOf(from)) set.add(folderOf(to));
    folders.set(folderOf(from), set);
  }
  return folders;
};

/** README's "Who owns what": folder → the folders its row says it imports. */
function readmeImports(): Map<string, string[]> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Who owns what'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('|')));
  const rows = new Map<string, string[]>();
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const folder = /^`([a-z-]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (!folder) continue;
    rows.set(folder, [...(cells.at(-2) ?? '').matchAll(/`([a-z-]+)`/g)].map((m) => m[1]).sort());
  }
  return rows;
}

describe('the architecture, read from the imports', () => {
  const files = importGraph();
  const folders = folderGraph(files);

  it('when the cycle finder reads a graph with a cycle, then it finds it (positive control)', () => {
    const g: Graph = new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
    expect(files.size).toBeGreaterThan(50);
    expect(folders.get('delivery')?.has('surveys')).toBe(true);
  });

  it('when every import in src/ and migrations/ is read, then no file reaches itself through others', () => {
    expect(cycles(files)).toEqual([]);
  });

  it('when imports are grouped by folder, then the folders form no cycle', () => {
    expect(cycles(folders)).toEqual([]);
  });

  it("when a folder imports another folder's repository, then that is an error (there is none)", () => {
    const reaching = [...files].flatMap(([from, targets]) =>
      [...targets].filter((to) => path.basename(to) === 'repository.ts' && folderOf(to) !== folderOf(from)).map((to) => `${from} → ${to}`),
    );
    expect(reaching).toEqual([]);
  });

  it('when the README\'s "Who owns what" table is read, then each folder imports exactly the folders its row names', () => {
    const documented = readmeImports();
    const actual = new Map([...folders].filter(([f]) => f !== '(top)').map(([f, to]) => [f, [...to].sort()]));
    expect(Object.fromEntries([...documented].sort())).toEqual(Object.fromEntries([...actual].sort()));
  });

  it('when a folder outside the top level is read, then it imports no top-level file (main, app, services, config, schema)', () => {
    expect([...folders].filter(([f, to]) => f !== '(top)' && to.has('(top)')).map(([f]) => f)).toEqual([]);
  });
});
