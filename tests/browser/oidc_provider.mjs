// A real OpenID provider for the sign-in tests: the npm package oidc-provider, on loopback.
// Its own development sign-in page accepts any password for the accounts in OIDC_ACCOUNTS.
// Besides the site's client it registers another application's (OTHER_CLIENT_ID), whose access tokens
// the site must refuse, and answers token introspection (RFC 7662) to confidential clients.
// Env: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TOOL_REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
//      OTHER_CLIENT_ID, OTHER_CLIENT_SECRET,
//      OIDC_ACCOUNTS (JSON: {"username": {"email": "...", "roles": ["trader"]}}).
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      // The site's callback, and one the bearer-token test reads the code from.
      redirect_uris: [process.env.REDIRECT_URI, process.env.TOOL_REDIRECT_URI],
      post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      id_token_signed_response_alg: "RS256",
    },
    {
      // Another application at the same provider, signing in the same people at the tool's address.
      client_id: process.env.OTHER_CLIENT_ID,
      client_secret: process.env.OTHER_CLIENT_SECRET,
      redirect_uris: [process.env.TOOL_REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["preferred_username", "name"],
    roles: ["roles"],
  },
  scopes: ["openid", "email", "profile", "roles"],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    // A confidential client (the site, as the API's resource server) may ask about any token.
    introspection: { enabled: true, allowedPolicy: async (ctx, client) => client.clientAuthMethod !== "none" },
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: id,
          name: id,
          email: account.email,
          email_verified: true,
          roles: account.roles,
        };
      },
    };
  },
});
provider.proxy = false;
provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
