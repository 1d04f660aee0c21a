// An esbuild plugin for the CLI bundle: an import of a folder's face (`../registry/index.js`) is rewritten to
// imports of the modules that define the names it takes. The source keeps its faces (test/unit/layout.test.ts);
// the bundle loses what faces cost it. esbuild splits code by files: every file a command reaches through an
// import, used or not, lands in a chunk that command loads — so `digest`, importing the report face for its
// colours, loaded the HTML report, the DCT updater and tar-stream with it. Names are resolved by the TypeScript
// checker (through `export *` and renames), so the rewrite is exact; anything it cannot resolve stays as written.
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** One checker over src/, built on first use (about a second and a half). */
function checkerFor(tsconfig) {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    tsconfig,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!parsed) throw new Error(`cannot read ${tsconfig}`);
  const program = ts.createProgram({
    rootNames: parsed.fileNames,
    options: { ...parsed.options, noEmit: true },
  });
  return { program, checker: program.getTypeChecker() };
}

/** `source` with its face imports replaced; `undefined` when nothing changed. */
function rewrite(sf, checker, srcDir) {
  const edits = [];
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !st.importClause || st.importClause.isTypeOnly) continue;
    const spec = st.moduleSpecifier.text;
    if (!/^\.\.?\//.test(spec) || !/\/index\.js$/.test(spec)) continue;
    const { name, namedBindings } = st.importClause;
    if (name || !namedBindings || !ts.isNamedImports(namedBindings)) continue;
    const byFile = new Map();
    const kept = [];
    for (const el of namedBindings.elements) {
      if (el.isTypeOnly) continue;
      const local = el.name.text;
      let sym = checker.getSymbolAtLocation(el.name);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      const decl = sym?.declarations?.[0];
      const file = decl?.getSourceFile().fileName;
      const valued = sym && sym.flags & ts.SymbolFlags.Value;
      if (!valued) continue; // a type: erased anyway
      if (
        !file ||
        !resolve(file).startsWith(srcDir) ||
        file.endsWith('.d.ts') ||
        !sym.name ||
        sym.name === 'default'
      ) {
        kept.push(el.getText(sf));
        continue;
      }
      const names = byFile.get(file) ?? [];
      names.push(sym.name === local ? local : `${sym.name} as ${local}`);
      byFile.set(file, names);
    }
    const lines = [...byFile].map(
      ([file, names]) => `import { ${names.join(', ')} } from ${JSON.stringify(file)};`,
    );
    if (kept.length) lines.push(`import { ${kept.join(', ')} } from ${JSON.stringify(spec)};`);
    edits.push({ start: st.getStart(sf), end: st.getEnd(), text: lines.join('\n') });
  }
  if (!edits.length) return undefined;
  let out = sf.text;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The plugin: `srcDir` is the absolute src/ folder, `tsconfig` the project file whose program covers it. */
export function directImports({ srcDir, tsconfig }) {
  let state;
  return {
    name: 'trustpin-direct-imports',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const path = resolve(args.path);
        if (!path.startsWith(`${srcDir}/`)) return undefined;
        state ??= checkerFor(tsconfig);
        const sf = state.program.getSourceFile(path);
        if (!sf) return undefined;
        const contents = rewrite(sf, state.checker, srcDir);
        return contents === undefined ? undefined : { contents, loader: 'ts', resolveDir: dirname(path) };
      });
    },
  };
}
