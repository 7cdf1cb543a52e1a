// An OpenID Provider for the tests: panva's oidc-provider (OpenID Certified),
// configured the way a national digital ID service would be for one relying party.
// Started by tests/edges/oidc.py; everything it needs comes from the environment
// and from two JSON files the test writes, so a test can restart it with other keys
// (key rotation) or other people.
//
//   OP_PORT, OP_ISSUER                 where it listens and what it calls itself
//   OP_CLIENT_ID, OP_CLIENT_SECRET, OP_REDIRECT_URI   the one registered client
//   OP_KEYS_FILE                       a private JWKS; the first key signs
//   OP_PEOPLE_FILE                     {login: {claims}}: who may sign in, and what
//                                      the provider asserts about them
//   OP_EXTRA_PROFILE_CLAIMS            claims of its own in the profile scope
//
// Sign-in uses the library's development interactions (a login form that takes
// any password, then a consent form), which the tests post like a browser would.
// Those pages are the provider's own, not ours. It prints "ready <port>" once it
// listens.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`missing ${name}`);
    process.exit(2);
  }
  return value;
};

const port = Number(env("OP_PORT"));
const issuer = env("OP_ISSUER");
const keys = JSON.parse(readFileSync(env("OP_KEYS_FILE"), "utf8"));
const people = JSON.parse(readFileSync(env("OP_PEOPLE_FILE"), "utf8"));
// A provider's own claims beyond the standard ones (comma-separated), in `profile`.
const extraProfileClaims = (process.env.OP_EXTRA_PROFILE_CLAIMS || "").split(",").filter(Boolean);

const configuration = {
  clients: [
    {
      client_id: env("OP_CLIENT_ID"),
      client_secret: env("OP_CLIENT_SECRET"),
      redirect_uris: [env("OP_REDIRECT_URI")],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      id_token_signed_response_alg: "RS256",
    },
  ],
  jwks: keys,
  pkce: { required: () => true },
  // The card's four basic items (name, address, date of birth, sex) and a reading.
  claims: {
    openid: ["sub"],
    profile: [
      "name",
      "family_name",
      "given_name",
      "birthdate",
      "gender",
      "name#ja-Kana-JP",
      "family_name#ja-Kana-JP",
      "given_name#ja-Kana-JP",
      ...extraProfileClaims,
    ],
    address: ["address"],
  },
  findAccount: async (_ctx, sub) => {
    const claims = people[sub];
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  features: { devInteractions: { enabled: true } },
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  cookies: { keys: ["cityproc-test-provider-cookie-key"] },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, "127.0.0.1", () => {
  console.log(`ready ${port}`);
});
