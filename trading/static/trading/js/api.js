// The REST API as the page calls it: same-origin session, CSRF header, JSON both ways. Every call resolves
// (never throws) to {ok, status, data, message}; status 0 means the server could not be reached in time.

export function apiClient({ csrf, fetchImpl = globalThis.fetch, timeoutMs = 10000 } = {}) {
  return async function api(method, path, body, headers = {}) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
    let response;
    try {
      response = await fetchImpl(path, {
        method,
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller ? controller.signal : undefined,
      });
    } catch (error) {
      const why = error && error.name === "AbortError" ? `no answer in ${timeoutMs / 1000} s` : error.message;
      return { ok: false, status: 0, data: null, message: `the server could not be reached (${why})` };
    } finally {
      if (timer) clearTimeout(timer);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    const message = data && data.error ? data.error.message : `${response.status} ${response.statusText}`;
    return { ok: response.ok, status: response.status, data, message };
  };
}

export function withAccount(path, accountId) {
  return path + (path.includes("?") ? "&" : "?") + `account=${accountId}`;
}

// A list endpoint's rows, paginated ({results: [...]}) or not.
export const rowsOf = (data) => (data && Array.isArray(data.results) ? data.results : Array.isArray(data) ? data : []);
