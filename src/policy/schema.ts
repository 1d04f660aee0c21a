// The policy document's shape as a JSON Schema, for editors (yaml-language-server, VS Code): modelled in zod and
// converted with z.toJSONSchema. The loader (load.ts) checks the same shape by hand so it can name file:line:col.
import { z } from 'zod';
import { POLICY_API_VERSION, POLICY_KIND } from './types.js';

const files = z.union([z.string().min(1), z.array(z.string().min(1))]);
const stringMap = z.record(z.string(), z.string());
const identity = z.strictObject({
  issuer: z.string().optional(),
  issuerRegExp: z.string().optional(),
  subject: z.string().optional(),
  subjectRegExp: z.string().optional(),
  extensions: stringMap.optional(),
});

const trustRoot = z.union([
  z.strictObject({
    dct: z.strictObject({
      rootKeyIds: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/)).optional(),
      rootKeys: files.optional(),
      server: z.string().optional(),
      ca: z.string().optional(),
      archive: z.string().optional(),
      metadataDir: z.string().optional(),
      allowFirstUse: z.boolean().optional(),
    }),
  }),
  z.strictObject({ publicKey: z.union([files, z.strictObject({ data: z.string() })]) }),
  z.strictObject({ sigstore: z.strictObject({ trustedRoot: z.string() }) }),
  z.strictObject({ x509: z.strictObject({ roots: files, intermediates: files.optional() }) }),
  z.strictObject({
    notation: z.strictObject({
      ca: files.optional(),
      signingAuthority: files.optional(),
      tsa: files.optional(),
      crls: files.optional(),
    }),
  }),
]);

const requirement: z.ZodType = z.lazy(() =>
  z.union([
    z.strictObject({ digestPinned: z.literal(true) }),
    z.strictObject({
      dct: z.strictObject({
        trustRoot: z.string(),
        signers: z.array(z.string()).optional(),
        roles: z.array(z.string()).optional(),
        threshold: z.literal(1).optional(),
      }),
    }),
    z.strictObject({
      cosign: z.strictObject({
        trustRoot: z.union([z.string(), z.array(z.string())]),
        identity: identity.optional(),
        identities: z.array(identity).optional(),
        tlog: z.enum(['required', 'optional']).optional(),
        annotations: stringMap.optional(),
        attestations: z.array(z.strictObject({ predicateType: z.string() })).optional(),
        signedIdentity: z.enum(['matchRepository', 'matchRepoDigestOrExact']).optional(),
      }),
    }),
    z.strictObject({
      notation: z.strictObject({
        trustRoot: z.string(),
        level: z.enum(['strict', 'permissive', 'audit', 'skip']).optional(),
        identities: z.array(z.string()).min(1),
        userMetadata: stringMap.optional(),
      }),
    }),
    z.strictObject({ anyOf: z.array(requirement).min(1) }),
    z.strictObject({ allOf: z.array(requirement).min(1) }),
  ]),
);

const mode = z.enum(['enforce', 'warn', 'audit']);

/** The document, in zod. */
export const policyDocument = z
  .strictObject({
    apiVersion: z.literal(POLICY_API_VERSION),
    kind: z.literal(POLICY_KIND),
    defaults: z
      .strictObject({
        mode: mode.optional(),
        noMatch: z.enum(['deny', 'warn', 'allow']).optional(),
        digest: z.enum(['require', 'resolve', 'ignore']).optional(),
        platform: z.string().optional(),
        verifyAt: z.string().optional(),
      })
      .optional(),
    trustRoots: z.record(z.string(), trustRoot).optional(),
    mirrors: z
      .array(
        z.strictObject({
          origin: z.string(),
          mirrors: z.array(z.string()),
          prove: z.enum(['none', 'index', 'manifest', 'config', 'diff_ids', 'diffids']).optional(),
          signaturesFrom: z.array(z.enum(['origin', 'mirror'])).optional(),
        }),
      )
      .optional(),
    rules: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          scope: z.string().min(1),
          mode: mode.optional(),
          require: z.array(requirement),
        }),
      )
      .max(1024)
      .optional(),
  })
  .meta({ title: 'trustpin TrustPolicy', description: 'A trustpin trust policy (trustpin.dev/v1alpha1)' });

/** The JSON Schema (draft 2020-12) of a policy document, for editors. */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(policyDocument, { target: 'draft-2020-12' }) as Record<string, unknown>),
    $id: 'https://trustpin.dev/schema/trustpolicy.v1alpha1.json',
  };
}
