// Hostile token servers: an answer that is JSON but not an object, a token that is not a string, or a token
// holding characters an HTTP header cannot carry is AUTH_TOKEN_FAILED — never a TypeError from property access
// or from Node refusing the header (found while writing the registry wire fuzz target; issue 11).
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { REPO, rejectsWith, withLiar } from './liar.js';

function answer(res: ServerResponse, body: string): true {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  return true;
}

const ANSWERS: Record<string, string> = {
  'JSON null': 'null',
  'a JSON array': '[{"token":"t"}]',
  'a number token': '{"token": 5}',
  'an object token': '{"token": {"a": 1}}',
  'a token with a newline': '{"token": "abc\\r\\nX-Injected: 1"}',
  'a token with a space': '{"access_token": "two words"}',
  'a non-ASCII token': '{"token": "t\\u00e9"}',
};

for (const [what, body] of Object.entries(ANSWERS)) {
  test(`a token server answering ${what} → AUTH_TOKEN_FAILED, nothing sent with it`, async () => {
    await withLiar({}, async (l) => {
      let sentBearer = 0;
      l.registry.hook = (req, res, url) => {
        if (url.pathname === '/token') return answer(res, body);
        if (req.headers.authorization?.startsWith('Bearer')) sentBearer++;
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="http://${l.host}/token",service="liar",scope="repository:${REPO}:pull"`,
          'Content-Length': 0,
        });
        res.end();
        return true;
      };
      const e = await rejectsWith(l.source().resolve(), 'AUTH_TOKEN_FAILED');
      assert.match(e.message, /token/);
      assert.equal(sentBearer, 0, 'the registry never saw a bearer header built from the bad answer');
    });
  });
}

test('a Bearer challenge whose realm is not a URL → AUTH_TOKEN_FAILED', async () => {
  await withLiar({}, async (l) => {
    l.registry.hook = (_req, res) => {
      res.writeHead(401, {
        'WWW-Authenticate': 'Bearer realm="http://[oops/token",service="x"',
        'Content-Length': 0,
      });
      res.end();
      return true;
    };
    const e = await rejectsWith(l.source().resolve(), 'AUTH_TOKEN_FAILED');
    assert.match(e.message, /realm is not a URL/);
  });
});

test('a redirect whose Location is not a URL → REDIRECT_REFUSED', async () => {
  await withLiar({}, async (l) => {
    l.registry.hook = (_req, res) => {
      res.writeHead(307, { Location: 'http://[oops/v2/', 'Content-Length': 0 });
      res.end();
      return true;
    };
    const e = await rejectsWith(l.source().resolve(), 'REDIRECT_REFUSED');
    assert.match(e.message, /not a URL/);
  });
});
