// A small W3C WebDriver client on Node's fetch, enough to drive the app through tauri-driver.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** How long one WebDriver command may take, so a hung driver fails the test instead of CI. */
const COMMAND_TIMEOUT_MS = 60_000;

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async create(base, capabilities) {
    const response = await request(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, response.sessionId);
  }

  command(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const found = await this.command("POST", "/element", { using: "css selector", value: css });
    return found[ELEMENT];
  }

  async findXpath(xpath) {
    const found = await this.command("POST", "/element", { using: "xpath", value: xpath });
    return found[ELEMENT];
  }

  async click(css) {
    await this.command("POST", `/element/${await this.find(css)}/click`, {});
  }

  async clickButton(text, within = "") {
    const element = await this.findXpath(`${within}//button[normalize-space()='${text}']`);
    await this.command("POST", `/element/${element}/click`, {});
  }

  async type(css, text) {
    await this.command("POST", `/element/${await this.find(css)}/value`, { text });
  }

  async text(css) {
    return this.command("GET", `/element/${await this.find(css)}/text`);
  }

  execute(script, args = []) {
    return this.command("POST", "/execute/sync", { script, args });
  }

  /** Sets an input's value the way typing does, so the UI's bindings see it. */
  async setValue(css, value) {
    const done = await this.execute(
      `const input = document.querySelector(arguments[0]);
       if (!input) return false;
       input.value = arguments[1];
       input.dispatchEvent(new Event("input", { bubbles: true }));
       input.dispatchEvent(new Event("change", { bubbles: true }));
       return true;`,
      [css, value],
    );
    if (!done) throw new Error(`no element matches ${css}`);
  }

  /** Polls `probe` until it returns a truthy value, and returns that value. */
  async waitFor(description, probe, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        last = await probe();
        if (last) return last;
      } catch (error) {
        last = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${description} (last: ${last})`);
  }

  /** Returns the text of the first element matching `css`, or null. */
  textOf(css) {
    return this.execute(`return document.querySelector(arguments[0])?.textContent ?? null;`, [css]);
  }

  close() {
    return request(this.base, "DELETE", `/session/${this.id}`);
  }
}

async function request(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  });
  const payload = await response.json();
  if (!response.ok) {
    throw new Error(`${method} ${path} failed: ${payload.value?.error}: ${payload.value?.message}`);
  }
  return payload.value;
}
