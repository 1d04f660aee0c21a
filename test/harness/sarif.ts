// The official SARIF 2.1.0 schema (from @microsoft/jest-sarif) as an Ajv validator, for every test that checks a
// SARIF log trustpin writes. The schema is draft-04 with only a top-level `id`: Ajv 8 reads it once `$schema` is
// dropped and `id` is spelt `$id`; its `language` pattern is not valid with the u flag, hence unicodeRegExp: false.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

export function sarifValidator(): ValidateFunction {
  const schema = JSON.parse(
    readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
  ) as Record<string, unknown>;
  const { $schema: _draft04, id, ...body } = schema as { $schema?: unknown; id?: string };
  return new Ajv({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false }).compile({
    $id: id,
    ...body,
  });
}
