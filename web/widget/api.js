// HTTP client for the finagent API (docs/API.md): JSON calls and the chat event stream.

/** An API failure with the server's error code, HTTP status and customer-readable message. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "network" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
  get isNetwork() {
    return this.status === 0;
  }
}

const NETWORK_MESSAGE = "We could not reach the bank's servers. Check your connection and try again.";

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = `The request failed (HTTP ${response.status}).`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    } else if (body && typeof body.detail === "string") {
      message = body.detail;
    }
  } catch {
    // Not JSON (a proxy error page, for instance): keep the generic message.
  }
  return new ApiError(message, { status: response.status, code });
}

export class ApiClient {
  /** @param {string} base absolute base URL, e.g. "https://bank.example/" */
  constructor(base, token = null) {
    this.base = base.endsWith("/") ? base : `${base}/`;
    this.token = token;
  }

  url(path) {
    return new URL(path.replace(/^\//, ""), this.base).toString();
  }

  headers(extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  async request(method, path, body, { signal } = {}) {
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers: this.headers(body === undefined ? {} : { "Content-Type": "application/json" }),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(NETWORK_MESSAGE);
    }
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return null;
    return response.json();
  }

  /** A text resource (an HTML report), with the session's token. */
  async text(path) {
    let response;
    try {
      response = await fetch(this.url(path), { headers: this.headers({ Accept: "text/html" }) });
    } catch {
      throw new ApiError(NETWORK_MESSAGE);
    }
    if (!response.ok) throw await errorFrom(response);
    return response.text();
  }

  get(path, opts) {
    return this.request("GET", path, undefined, opts);
  }

  post(path, body = {}, opts) {
    return this.request("POST", path, body, opts);
  }

  /**
   * POST and read a Server-Sent Events reply, calling onEvent(name, data) for each event.
   * Resolves when the stream ends; rejects with ApiError on HTTP or network failure.
   */
  async stream(path, body, onEvent, { signal } = {}) {
    let response;
    try {
      response = await fetch(this.url(path), {
        method: "POST",
        headers: this.headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(NETWORK_MESSAGE);
    }
    if (!response.ok) throw await errorFrom(response);
    if (!response.body) throw new ApiError("This browser cannot read streamed replies.", { code: "no_stream" });

    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser(onEvent);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      // The connection dropped mid-reply; the server keeps the thread state.
      throw new ApiError("The connection was interrupted while the reply was arriving.");
    }
    parser.flush();
  }
}

/** Incremental parser for the text/event-stream format (event:, data:, blank line). */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.eventName = "message";
    this.dataLines = [];
  }

  feed(chunk) {
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    // The last piece may be an incomplete line; keep it for the next chunk.
    this.buffer = lines.pop() ?? "";
    for (const line of lines) this.line(line);
  }

  flush() {
    if (this.buffer) this.line(this.buffer);
    this.buffer = "";
    this.line("");
  }

  line(line) {
    if (line === "") {
      if (this.dataLines.length) this.dispatch();
      this.eventName = "message";
      this.dataLines = [];
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") this.dataLines.push(value);
  }

  dispatch() {
    const raw = this.dataLines.join("\n");
    let data;
    try {
      data = JSON.parse(raw);
    } catch {
      data = { text: raw };
    }
    this.onEvent(this.eventName, data);
  }
}
