// Every symbol the package exports (from `trustpin` and `trustpin/testing`) carries a TSDoc comment: the
// public API is read from its types, so an undocumented export is a bug. Reads the sources with tsc's API.
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRIES = { trustpin: 'src/index.ts', 'trustpin/testing': 'src/testing/index.ts' };

function program(): ts.Program {
  const cfg = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(cfg);
  return ts.createProgram(
    Object.values(ENTRIES).map((f) => join(root, f)),
    { ...cfg.options, noEmit: true },
  );
}

/** The exported names of `entry` whose declarations have no doc comment, as `name (file)`. */
function undocumented(p: ts.Program, entry: string): { names: string[]; count: number } {
  const checker = p.getTypeChecker();
  const sf = p.getSourceFile(join(root, entry));
  assert.ok(sf, `${entry} not found`);
  const mod = checker.getSymbolAtLocation(sf);
  assert.ok(mod, `${entry} is not a module`);
  const exports = checker.getExportsOfModule(mod);
  const missing: string[] = [];
  for (const e of exports) {
    const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    const decls = s.getDeclarations() ?? [];
    const documented = decls.some((d) => {
      // a `const x = …` carries its comment on the statement, not the declarator
      const node = ts.isVariableDeclaration(d) ? d.parent.parent : d;
      return ts.getJSDocCommentsAndTags(node).length > 0;
    });
    if (!documented) {
      const file = decls[0] ? decls[0].getSourceFile().fileName.slice(root.length + 1) : '?';
      missing.push(`${e.name} (${file})`);
    }
  }
  return { names: missing, count: exports.length };
}

describe('public API documentation', () => {
  const p = program();
  for (const [name, entry] of Object.entries(ENTRIES)) {
    it(`every export of ${name} has a doc comment`, () => {
      const { names, count } = undocumented(p, entry);
      assert.ok(count > 10, `${entry} exports only ${count} symbols`);
      assert.deepEqual(names, [], `undocumented exports of ${name}:\n  ${names.join('\n  ')}`);
    });
  }
});
