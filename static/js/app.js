/* imagegen studio pages: Alpine.js components (registered for Alpine's CSP build, so no inline code in the
 * HTML and no eval). Every string shown comes from Django's JavaScript catalogue (gettext). User text is
 * only ever put in the page with x-text / attribute bindings, never as HTML. */
"use strict";

(function () {
  // Django's JavaScript catalogue (jsi18n) defines gettext and interpolate; the literal gettext("...")
  // calls are what makemessages collects into the djangojs catalogue.
  const gettext = window.gettext || ((s) => s);
  const fmt = (s, values) => (window.interpolate ? window.interpolate(s, values, true) : s);
  const TERMINAL = ["completed", "failed", "cancelled"];
  const STORE_KEY = "imagegen.tasks";
  const THUMB = 384;

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
  }

  /** fetch + JSON + CSRF; never throws: {ok, status, data} (data is the error envelope on failure). */
  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    if (method !== "GET") options.headers["X-CSRFToken"] = cookie("csrftoken");
    try {
      const response = await fetch("/api/v1/" + path, options);
      // Accounts mode, and the session ended: back to the sign-in page, then here again.
      if (response.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      }
      let data = null;
      if (response.status !== 204) {
        try { data = await response.json(); } catch (e) { data = null; }
      }
      return { ok: response.ok, status: response.status, data };
    } catch (e) {
      return { ok: false, status: 0, data: { error: "network", message: gettext("The server could not be reached. Check your connection.") } };
    }
  }

  /** Merge component parts keeping getters as getters (object spread would freeze them into values). */
  function mix(...parts) {
    const target = {};
    for (const part of parts) Object.defineProperties(target, Object.getOwnPropertyDescriptors(part));
    return target;
  }

  function toast(message) {
    window.dispatchEvent(new CustomEvent("toast", { detail: message }));
  }

  function pageConfig() {
    const node = document.getElementById("page-config");
    const config = node ? JSON.parse(node.textContent) : { models: [] };
    for (const m of config.models) m.label = m.legacy ? fmt(gettext("%(name)s (legacy)"), { name: m.name }) : m.name;
    return config;
  }

  function thumbSize(w, h) {
    const scale = Math.min(1, THUMB / Math.max(w, h));
    return [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
  }

  // Functions, not constants: the language catalogue is read when a label is needed.
  const STATUS = () => ({
    pending: gettext("Queued"), processing: gettext("Working"), retrying: gettext("Retrying"),
    completed: gettext("Done"), failed: gettext("Failed"), cancelled: gettext("Cancelled"),
  });
  const STAGE = () => ({
    queued: gettext("Waiting for a worker"), queued_upstream: gettext("Queued at the image service"),
    generating: gettext("Generating"), downloading: gettext("Downloading"), saving: gettext("Saving"),
    waiting_retry: gettext("Waiting to retry"), done: gettext("Done"),
  });

  function seconds(n) {
    if (n === null || n === undefined) return "";
    return n < 90 ? fmt(gettext("about %(n)s s left"), { n }) : fmt(gettext("about %(n)s min left"), { n: Math.round(n / 60) });
  }

  /** The fields the templates read, derived from an API task. */
  function decorateTask(task) {
    const unfinished = !TERMINAL.includes(task.status);
    const parts = [STAGE()[task.stage] || task.stage];
    if (unfinished) {
      if (task.queue_position !== null && task.queue_position !== undefined) {
        parts[0] = task.queue_position === 0 ? gettext("Next in line") : fmt(gettext("%(n)s ahead in the queue"), { n: task.queue_position });
      }
      parts.push(task.progress + "%");
      if (task.estimated_time) parts.push(seconds(task.estimated_time));
    }
    const images = (task.images || []).map((img) => {
      const [tw, th] = thumbSize(img.width, img.height);
      return { ...img, thumbWidth: tw, thumbHeight: th, task_id: task.task_id };
    });
    return {
      ...task,
      images,
      unfinished,
      finished: !unfinished,
      retryable: task.status === "failed" || task.status === "cancelled",
      hasImages: images.length > 0,
      statusLabel: STATUS()[task.status] || task.status,
      stageLabel: STAGE()[task.stage] || task.stage,
      progressLabel: parts.join(" · "),
      sizeLabel: task.width + "×" + task.height,
      errorMessage: task.status === "completed" ? "" : (task.error && task.error.message) || "",
      openLabel: gettext("Open image"),
      createdLabel: task.created_at ? new Date(task.created_at).toLocaleString() : "",
    };
  }

  function reuseUrl(taskId, seed) {
    return "/?reuse=" + encodeURIComponent(taskId) + (seed !== undefined && seed !== null ? "&seed=" + seed : "");
  }

  /** The image viewer shared by the three pages: a <dialog> with keyboard navigation and tag editing. */
  function viewerMixin() {
    return {
      viewing: null,
      viewIds: [],
      viewIndex: 0,
      taskCache: {},
      viewerImageIds() { return []; },
      async openImage(imageId) {
        this.viewIds = this.viewerImageIds();
        this.viewIndex = Math.max(0, this.viewIds.indexOf(imageId));
        await this.showViewed(imageId);
        if (!this.$refs.viewer.open) this.$refs.viewer.showModal();
      },
      async showViewed(imageId) {
        const image = this.findImage(imageId);
        if (!image) return;
        let task = this.taskCache[image.task_id];
        if (!task) {
          const res = await api("GET", "task/" + encodeURIComponent(image.task_id));
          if (!res.ok) { toast(res.data.message); return; }
          task = this.taskCache[image.task_id] = res.data;
        }
        const rows = [
          [gettext("Model"), task.model], [gettext("Size"), image.width + "×" + image.height], [gettext("Seed"), image.seed],
          [gettext("Steps"), task.steps], [gettext("Guidance scale"), task.scale], [gettext("Negative prompt"), task.negative_prompt],
          [gettext("Enhanced prompt"), task.revised_prompt], [gettext("Engine"), task.engine],
          [gettext("Ignored parameters"), (task.ignored_params || []).join(", ")],
          [gettext("File"), image.format.toUpperCase() + " · " + Math.round(image.file_size / 1024) + " KB"],
          [gettext("Created"), new Date(task.created_at).toLocaleString()],
        ].filter((r) => r[1] !== null && r[1] !== undefined && r[1] !== "");
        this.viewing = {
          ...image,
          prompt: task.prompt,
          task,
          params: rows.map(([name, value]) => ({ name, value: String(value) })),
          downloadUrl: image.url + "?download=1",
        };
      },
      findImage(imageId) { return null; },
      get viewerPosition() { return this.viewIds.length > 1 ? (this.viewIndex + 1) + " / " + this.viewIds.length : ""; },
      get viewerAtStart() { return this.viewIndex <= 0; },
      get viewerAtEnd() { return this.viewIndex >= this.viewIds.length - 1; },
      viewPrev() { if (!this.viewerAtStart) { this.viewIndex -= 1; this.showViewed(this.viewIds[this.viewIndex]); } },
      viewNext() { if (!this.viewerAtEnd) { this.viewIndex += 1; this.showViewed(this.viewIds[this.viewIndex]); } },
      viewerKey(event) {
        if (event.target.tagName === "INPUT") return;
        if (event.key === "ArrowLeft") { event.preventDefault(); this.viewPrev(); }
        if (event.key === "ArrowRight") { event.preventDefault(); this.viewNext(); }
      },
      closeViewer() { this.$refs.viewer.close(); },
      viewerClosed() { this.viewing = null; },
      tagRemoveLabel(tag) { return fmt(gettext("Remove tag %(tag)s"), { tag }); },
      async addTag(event) {
        const input = event.target.elements.tag;
        const name = input.value.trim();
        if (!name) return;
        const res = await api("POST", "images/" + this.viewing.image_id + "/tags", { tags: [name] });
        if (!res.ok) { toast(res.data.message); return; }
        input.value = "";
        this.setTags(this.viewing.image_id, res.data.tags);
      },
      async removeTag(tag) {
        const res = await api("DELETE", "images/" + this.viewing.image_id + "/tags/" + encodeURIComponent(tag));
        if (!res.ok) { toast(res.data.message); return; }
        this.setTags(this.viewing.image_id, res.data.tags);
      },
      setTags(imageId, tags) {
        const image = this.findImage(imageId);
        if (image) image.tags = tags;
        if (this.viewing && this.viewing.image_id === imageId) this.viewing.tags = tags;
        this.tagsChanged();
      },
      tagsChanged() {},
      async copyPrompt() {
        try { await navigator.clipboard.writeText(this.viewing.prompt); toast(gettext("Prompt copied.")); }
        catch (e) { toast(gettext("Copying is not allowed here; select the text instead.")); }
      },
      reuseViewed() { window.location.href = reuseUrl(this.viewing.task_id); },
      reuseViewedSeed() { window.location.href = reuseUrl(this.viewing.task_id, this.viewing.seed); },
      async deleteViewed() {
        if (!window.confirm(gettext("Delete this image for good?"))) return;
        const res = await api("DELETE", "images/" + this.viewing.image_id);
        if (!res.ok && res.status !== 204) { toast(res.data.message); return; }
        const gone = this.viewing.image_id;
        this.closeViewer();
        this.imageDeleted(gone);
        toast(gettext("Image deleted."));
      },
      imageDeleted(imageId) {},
    };
  }

  /** The viewer over a list of tasks' images (the generate and history pages). */
  function taskImages() {
    return {
      viewerImageIds() { return this.tasks.flatMap((x) => x.images.map((i) => i.image_id)); },
      findImage(imageId) {
        for (const task of this.tasks) for (const img of task.images) if (img.image_id === imageId) return img;
        return null;
      },
      imageDeleted(imageId) {
        this.tasks = this.tasks.map((x) => decorateTask({ ...x, images: x.images.filter((i) => i.image_id !== imageId) }));
      },
    };
  }

  /** The task stream (WebSocket /api/v1/generate/stream), when the server offers one. `onTask` gets every
   * state of the watched tasks, `onChange(up)` says whether the socket is open: the page polls whenever it
   * is not, and the socket is tried again later (2 s, doubling to 30 s). */
  function liveStream(settings, onTask, onChange) {
    const live = { connected: false, socket: null, wanted: new Set(), retryMs: 2000, timer: null };
    function url() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      let base = scheme + "//" + window.location.host;
      if (settings.url) base = settings.url.replace(/^http/, "ws");
      else if (settings.port) base = scheme + "//" + window.location.hostname + ":" + settings.port;
      return base.replace(/\/$/, "") + "/api/v1/generate/stream";
    }
    function send(message) {
      if (live.connected) live.socket.send(JSON.stringify(message));
    }
    function schedule() {
      window.clearTimeout(live.timer);
      live.timer = window.setTimeout(open, live.retryMs);
      live.retryMs = Math.min(live.retryMs * 2, 30000);
    }
    function open() {
      if (!settings || !settings.enabled || typeof window.WebSocket === "undefined") return;
      let socket;
      try { socket = new window.WebSocket(url()); } catch (e) { schedule(); return; }
      live.socket = socket;
      socket.addEventListener("open", () => {
        live.connected = true;
        live.retryMs = 2000;
        onChange(true);
        for (const id of live.wanted) send({ type: "subscribe", task_id: id });
      });
      socket.addEventListener("message", (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message.task && message.type !== "created") onTask(message.task);
        if (message.type === "unsubscribed" || (message.type === "error" && message.task_id)) live.wanted.delete(message.task_id);
      });
      socket.addEventListener("close", () => {
        const was = live.connected;
        live.connected = false;
        live.socket = null;
        if (was) onChange(false);
        schedule();
      });
    }
    live.watch = (id) => {
      if (live.wanted.has(id)) return;
      live.wanted.add(id);
      send({ type: "subscribe", task_id: id });
    };
    live.start = open;
    return live;
  }

  /** The generate page: the catalogue-driven form and the live list of this browser's tasks. */
  function generator() {
    return mix(viewerMixin(), taskImages(), {
      config: pageConfig(),
      form: { prompt: "", negative_prompt: "", model: "", width: "", height: "", num_images: 1, steps: "", scale: "", seed: "", enhance_prompt: true },
      errors: {},
      invalid: {},
      formError: "",
      submitting: false,
      tasks: [],
      ratio: "1:1",
      timer: null,
      quota: null,
      live: null,
      liveMode: "polling",

      async init() {
        this.quota = this.config.quota || null;
        const model = this.config.models.find((m) => m.default) || this.config.models[0];
        this.selectModel(model.id, true);
        const params = new URLSearchParams(window.location.search);
        if (params.get("reuse")) await this.reuse(params.get("reuse"), params.get("seed"));
        // Kept out of Alpine's reactive state (a WebSocket must not be proxied).
        const live = liveStream(this.config.stream, (task) => this.streamed(task), (up) => { this.liveMode = up ? "socket" : "polling"; });
        this.live = () => live;
        await this.restoreTasks();
        for (const task of this.tasks) if (task.unfinished) live.watch(task.task_id);
        live.start();
        this.timer = window.setInterval(() => this.poll(), 1000);
      },

      get model() { return this.config.models.find((m) => m.id === this.form.model); },
      get sizeRule() { return this.model ? this.model.sizes : {}; },
      get supports() {
        const p = this.model ? this.model.parameters : {};
        return {
          negative_prompt: !!(p.negative_prompt && p.negative_prompt.supported),
          steps: !!(p.steps && p.steps.supported),
          scale: !!(p.scale && p.scale.supported),
          enhance_prompt: !!(p.enhance_prompt && p.enhance_prompt.supported),
        };
      },
      get promptCount() { return this.form.prompt.length + " / " + this.config.maxPromptLength; },
      // Accounts mode: what is left of the user's quota (from the page, then from GET /api/v1/account).
      get hasQuota() { return !!this.quota; },
      get quotaExhausted() { return this.quota ? String(this.quota.daily_images.remaining === 0) : "false"; },
      get quotaLabel() {
        if (!this.quota) return "";
        const d = this.quota.daily_images;
        const c = this.quota.concurrent_tasks;
        return fmt(gettext("%(remaining)s of %(limit)s images left today · %(running)s of %(max)s tasks running"), {
          remaining: d.remaining, limit: d.limit, running: c.used, max: c.limit,
        });
      },
      async refreshQuota() {
        if (!this.quota) return;
        const res = await api("GET", "account");
        if (res.ok) this.quota = res.data.quota;
      },
      get modelHint() {
        const m = this.model;
        if (!m) return "";
        const s = m.sizes;
        return fmt(gettext("Sizes %(min)s–%(max)s px a side; %(call)s."), {
          min: s.min_side, max: s.max_side, call: m.action === "async" ? gettext("queued at the service") : gettext("answers directly"),
        });
      },
      get stepsRange() { const p = this.model && this.model.parameters.steps; return p && p.supported ? "(" + p.min + "–" + p.max + ")" : ""; },
      get scaleRange() { const p = this.model && this.model.parameters.scale; return p && p.supported ? "(" + p.min + "–" + p.max + ")" : ""; },
      get ratios() {
        const seen = [];
        for (const p of this.sizeRule.presets || []) if (!seen.includes(p.ratio)) seen.push(p.ratio);
        return seen.map((ratio) => ({ ratio, active: ratio === this.ratio }));
      },
      get presetsForRatio() {
        return (this.sizeRule.presets || []).filter((p) => p.ratio === this.ratio).map((p) => ({
          ...p, key: p.width + "x" + p.height, label: p.width + "×" + p.height,
          active: Number(this.form.width) === p.width && Number(this.form.height) === p.height,
        }));
      },
      get noTasks() { return this.tasks.length === 0; },
      get hasFinished() { return this.tasks.some((x) => x.finished); },

      selectModel(id, useDefaults) {
        this.form.model = id;
        for (const m of this.config.models) m.selected = m.id === id;
        const m = this.model;
        // Keep the size when it is one the new model recommends; otherwise start from its default.
        const isPreset = m.sizes.presets.some((p) => p.width === Number(this.form.width) && p.height === Number(this.form.height));
        if (useDefaults || !isPreset) {
          this.form.width = m.sizes.default_width;
          this.form.height = m.sizes.default_height;
          this.ratio = (m.sizes.presets[0] || { ratio: "1:1" }).ratio;
        }
        this.form.steps = this.supports.steps ? m.parameters.steps.default : "";
        this.form.scale = this.supports.scale ? m.parameters.scale.default : "";
        if (this.supports.enhance_prompt) this.form.enhance_prompt = m.parameters.enhance_prompt.default;
        this.errors = {};
        this.invalid = {};
      },
      onModel(event) { this.selectModel(event.target.value, false); },
      pickRatio(ratio) {
        this.ratio = ratio;
        const first = (this.sizeRule.presets || []).find((p) => p.ratio === ratio);
        if (first) this.pickPreset(first.width, first.height);
      },
      pickPreset(width, height) {
        this.form.width = width;
        this.form.height = height;
        this.clearError("width");
        this.clearError("height");
      },
      onInput(event) {
        const el = event.target;
        this.form[el.name] = el.type === "checkbox" ? el.checked : el.value;
        this.clearError(el.name);
      },
      onPromptKey(event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); this.submit(); }
      },
      randomSeed() { this.form.seed = Math.floor(Math.random() * 2147483647); },
      clearError(name) { delete this.errors[name]; delete this.invalid[name]; this.errors = { ...this.errors }; this.invalid = { ...this.invalid }; },

      sizeErrors(w, h) {
        const s = this.sizeRule;
        const out = [];
        if (!Number.isInteger(w) || !Number.isInteger(h)) return [["width", gettext("Width and height must be whole numbers.")]];
        if (w < s.min_side || w > s.max_side) out.push(["width", fmt(gettext("Width must be between %(min)s and %(max)s pixels."), { min: s.min_side, max: s.max_side })]);
        if (h < s.min_side || h > s.max_side) out.push(["height", fmt(gettext("Height must be between %(min)s and %(max)s pixels."), { min: s.min_side, max: s.max_side })]);
        if (!out.length && (w * h < s.min_pixels || w * h > s.max_pixels)) out.push(["width", gettext("This size has too few or too many pixels for the model; pick a recommended size.")]);
        if (!out.length && (w / h < s.min_ratio - 1e-9 || w / h > s.max_ratio + 1e-9)) out.push(["width", gettext("This aspect ratio is too extreme for the model.")]);
        return out;
      },
      /** The same rules the server applies, so most mistakes show before a request is sent. */
      validate() {
        const errors = {};
        const prompt = this.form.prompt.trim();
        if (!prompt) errors.prompt = gettext("The prompt must not be empty.");
        else if (prompt.length > this.config.maxPromptLength) errors.prompt = fmt(gettext("At most %(n)s characters."), { n: this.config.maxPromptLength });
        for (const [field, message] of this.sizeErrors(Number(this.form.width), Number(this.form.height))) errors[field] = errors[field] || message;
        const n = Number(this.form.num_images);
        if (!Number.isInteger(n) || n < 1 || n > this.config.maxImages) errors.num_images = fmt(gettext("Between 1 and %(n)s images."), { n: this.config.maxImages });
        for (const name of ["steps", "scale"]) {
          if (!this.supports[name] || this.form[name] === "") continue;
          const p = this.model.parameters[name];
          const v = Number(this.form[name]);
          if (Number.isNaN(v) || v < p.min || v > p.max || (p.integer && !Number.isInteger(v))) errors[name] = fmt(gettext("Between %(min)s and %(max)s."), { min: p.min, max: p.max });
        }
        if (this.form.seed !== "" && this.form.seed !== null) {
          const seed = Number(this.form.seed);
          if (!Number.isInteger(seed) || seed < -1 || seed > 2147483647) errors.seed = gettext("A whole number from -1 to 2147483647.");
        }
        return errors;
      },
      body() {
        const f = this.form;
        const body = { prompt: f.prompt.trim(), model: f.model, width: Number(f.width), height: Number(f.height), num_images: Number(f.num_images) };
        if (this.supports.negative_prompt && f.negative_prompt.trim()) body.negative_prompt = f.negative_prompt.trim();
        if (this.supports.steps && f.steps !== "") body.steps = Number(f.steps);
        if (this.supports.scale && f.scale !== "") body.scale = Number(f.scale);
        if (this.supports.enhance_prompt) body.enhance_prompt = !!f.enhance_prompt;
        if (f.seed !== "" && f.seed !== null) body.seed = Number(f.seed);
        return body;
      },
      showErrors(errors) {
        this.errors = errors;
        this.invalid = Object.fromEntries(Object.keys(errors).map((k) => [k, "true"]));
      },
      async submit() {
        if (this.submitting) return;
        this.formError = "";
        const errors = this.validate();
        if (Object.keys(errors).length) { this.showErrors(errors); return; }
        this.submitting = true;
        const res = await api("POST", "generate", this.body());
        this.submitting = false;
        if (res.status === 201 || res.status === 429) this.refreshQuota();
        if (res.status === 201) {
          this.showErrors({});
          await this.track(res.data.task_id);
          return;
        }
        const data = res.data || {};
        if (res.status === 400 && data.details && typeof data.details === "object") {
          const fieldErrors = {};
          for (const [field, messages] of Object.entries(data.details)) fieldErrors[field] = Array.isArray(messages) ? messages[0] : String(messages);
          this.showErrors(fieldErrors);
        }
        this.formError = data.message || gettext("The request failed.");
      },

      remembered() {
        try { return JSON.parse(window.localStorage.getItem(STORE_KEY) || "[]"); } catch (e) { return []; }
      },
      remember() {
        window.localStorage.setItem(STORE_KEY, JSON.stringify(this.tasks.map((x) => x.task_id).slice(0, 50)));
      },
      async restoreTasks() {
        const ids = this.remembered();
        const running = await api("GET", "tasks?status=pending,processing,retrying&page_size=50");
        if (running.ok) for (const task of running.data.results) if (!ids.includes(task.task_id)) ids.push(task.task_id);
        const loaded = await Promise.all(ids.map((id) => api("GET", "task/" + encodeURIComponent(id))));
        this.tasks = loaded.filter((r) => r.ok).map((r) => decorateTask(r.data))
          .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
        this.remember();
      },
      async track(taskId) {
        const res = await api("GET", "task/" + encodeURIComponent(taskId));
        if (res.ok) {
          this.tasks = [decorateTask(res.data), ...this.tasks.filter((x) => x.task_id !== taskId)];
          this.remember();
          if (this.live && !TERMINAL.includes(res.data.status)) this.live().watch(taskId);
        }
      },
      streamed(task) {
        const index = this.tasks.findIndex((x) => x.task_id === task.task_id);
        if (index >= 0) this.tasks[index] = decorateTask(task);
      },
      async poll() {
        if (this.liveMode === "socket") return;  // the stream brings every change
        const open = this.tasks.filter((x) => x.unfinished);
        if (!open.length || document.hidden) return;
        const results = await Promise.all(open.map((x) => api("GET", "task/" + encodeURIComponent(x.task_id))));
        let finished = false;
        for (const res of results) {
          if (!res.ok) continue;
          const index = this.tasks.findIndex((x) => x.task_id === res.data.task_id);
          if (index >= 0) this.tasks[index] = decorateTask(res.data);
          finished = finished || TERMINAL.includes(res.data.status);
        }
        // A finished task frees a concurrent slot (and a failed one gives its images back).
        if (finished) this.refreshQuota();
      },
      async cancel(taskId) {
        const res = await api("DELETE", "task/" + encodeURIComponent(taskId));
        if (res.status === 202) {
          this.tasks = this.tasks.map((x) => (x.task_id === taskId ? decorateTask(res.data) : x));
          this.refreshQuota();
        } else if (!res.ok) toast(res.data.message);
      },
      async retry(taskId) {
        const task = this.tasks.find((x) => x.task_id === taskId);
        this.fill(task, task.seed);
        await this.submit();
      },
      async reuse(taskId, seed) {
        let task = this.tasks.find((x) => x.task_id === taskId);
        if (!task) {
          const res = await api("GET", "task/" + encodeURIComponent(taskId));
          if (!res.ok) { toast(res.data.message); return; }
          task = res.data;
        }
        this.fill(task, seed);
        window.scrollTo({ top: 0, behavior: "smooth" });
        const prompt = document.getElementById("prompt");
        if (prompt) prompt.focus();
      },
      fill(task, seed) {
        if (this.config.models.some((m) => m.id === task.model)) this.selectModel(task.model, true);
        this.form.prompt = task.prompt;
        this.form.negative_prompt = task.negative_prompt || "";
        this.form.width = task.width;
        this.form.height = task.height;
        const preset = (this.sizeRule.presets || []).find((p) => p.width === task.width && p.height === task.height);
        if (preset) this.ratio = preset.ratio;
        this.form.num_images = task.num_images;
        if (task.steps !== null && task.steps !== undefined) this.form.steps = task.steps;
        if (task.scale !== null && task.scale !== undefined) this.form.scale = task.scale;
        if (task.enhance_prompt !== null && task.enhance_prompt !== undefined) this.form.enhance_prompt = task.enhance_prompt;
        this.form.seed = seed !== undefined && seed !== null && seed !== "" ? Number(seed) : "";
      },
      clearFinished() {
        this.tasks = this.tasks.filter((x) => x.unfinished);
        this.remember();
      },
    });
  }

  /** Infinite scroll over a paginated API list. */
  function pagedList(path) {
    return {
      page: 0,
      hasMore: true,
      loading: false,
      observer: null,
      listPath() { return path; },
      query() { return ""; },
      startScrolling() {
        this.observer = new IntersectionObserver((entries) => {
          if (entries.some((e) => e.isIntersecting)) this.loadMore();
        }, { rootMargin: "600px" });
        this.observer.observe(this.$refs.sentinel);
      },
      async reload() {
        this.page = 0;
        this.hasMore = true;
        this.items = [];
        await this.loadMore();
      },
      async loadMore() {
        if (this.loading || !this.hasMore) return;
        this.loading = true;
        const res = await api("GET", this.listPath() + "?page=" + (this.page + 1) + "&page_size=30" + this.query());
        this.loading = false;
        if (!res.ok) { this.hasMore = false; if (res.status !== 404) toast(res.data.message); return; }
        this.page += 1;
        this.hasMore = !!res.data.next;
        this.received(res.data.results);
      },
      received(rows) {},
    };
  }

  function readFilters(form) {
    const data = new FormData(form);
    return Object.fromEntries([...data.entries()].filter(([, v]) => v !== ""));
  }

  function filterQuery(filters) {
    return Object.entries(filters).map(([k, v]) => "&" + encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("");
  }

  /** The gallery: a lazily loaded grid, filters, the viewer, and a selection for bulk actions. */
  function gallery() {
    return mix(viewerMixin(), pagedList("images"), {
      config: pageConfig(),
      images: [],
      tags: [],
      filters: {},
      selecting: false,
      selected: [],

      async init() {
        const params = new URLSearchParams(window.location.search);
        for (const key of ["q", "tag", "model"]) if (params.get(key)) this.filters[key] = params.get(key);
        for (const m of this.config.models) m.selected = m.id === this.filters.model;
        this.loadTags();
        await this.loadMore();
        this.startScrolling();
      },
      query() { return filterQuery(this.filters); },
      received(rows) {
        for (const img of rows) {
          const [tw, th] = thumbSize(img.width, img.height);
          this.images.push({ ...img, thumbWidth: tw, thumbHeight: th, selected: this.selected.includes(img.image_id), openLabel: gettext("Open image") });
        }
      },
      async reload() {
        this.page = 0;
        this.hasMore = true;
        this.images = [];
        await this.loadMore();
      },
      async loadTags() {
        const res = await api("GET", "tags");
        if (res.ok) this.tags = res.data;
      },
      get tagOptions() {
        return this.tags.map((x) => ({ ...x, label: x.tag_name + " (" + x.count + ")", selected: x.tag_name === this.filters.tag }));
      },
      get isEmpty() { return !this.loading && this.images.length === 0; },
      applyFilters(event) {
        const form = event.target.form || event.target;
        this.filters = readFilters(form);
        const url = new URL(window.location.href);
        url.search = new URLSearchParams(this.filters).toString();
        window.history.replaceState(null, "", url);
        this.reload();
      },
      activate(imageId) {
        if (!this.selecting) { this.openImage(imageId); return; }
        this.selected = this.selected.includes(imageId) ? this.selected.filter((x) => x !== imageId) : [...this.selected, imageId];
        for (const img of this.images) img.selected = this.selected.includes(img.image_id);
      },
      get notSelecting() { return !this.selecting; },
      get hasSelection() { return this.selected.length > 0; },
      get noSelection() { return this.selected.length === 0; },
      get selectionLabel() { return fmt(gettext("%(n)s selected — click images to select"), { n: this.selected.length }); },
      get zipUrl() { return "/api/v1/images/zip?ids=" + this.selected.join(","); },
      startSelecting() { this.selecting = true; },
      stopSelecting() {
        this.selecting = false;
        this.selected = [];
        for (const img of this.images) img.selected = false;
      },
      async bulk(action, tags) {
        if (!this.selected.length) { toast(gettext("Select some images first.")); return null; }
        const res = await api("POST", "images/bulk", { action, image_ids: this.selected, tags });
        if (!res.ok) { toast(res.data.message); return null; }
        return res.data;
      },
      async tagSelected(event) {
        const name = event.target.elements.tag.value.trim();
        if (!name) return;
        if (await this.bulk("tag", [name])) { toast(fmt(gettext("Tagged %(n)s images."), { n: this.selected.length })); this.loadTags(); }
      },
      async untagSelected() {
        const input = document.getElementById("bulk-tag");
        const name = input.value.trim();
        if (!name) return;
        if (await this.bulk("untag", [name])) { toast(gettext("Tag removed.")); this.loadTags(); }
      },
      async deleteSelected() {
        if (!window.confirm(fmt(gettext("Delete %(n)s images for good?"), { n: this.selected.length }))) return;
        if (await this.bulk("delete")) {
          this.images = this.images.filter((img) => !this.selected.includes(img.image_id));
          this.stopSelecting();
          toast(gettext("Images deleted."));
        }
      },
      viewerImageIds() { return this.images.map((i) => i.image_id); },
      findImage(imageId) { return this.images.find((i) => i.image_id === imageId) || null; },
      tagsChanged() { this.loadTags(); },
      imageDeleted(imageId) { this.images = this.images.filter((i) => i.image_id !== imageId); },
    });
  }

  /** History: every generation, searchable, with reuse and delete (after confirmation). */
  function history() {
    return mix(viewerMixin(), taskImages(), pagedList("tasks"), {
      config: pageConfig(),
      tasks: [],
      filters: {},
      pendingDelete: null,

      async init() {
        await this.loadMore();
        this.startScrolling();
      },
      query() {
        const f = { ...this.filters };
        if (f.since) { f.created_after = new Date(f.since + "T00:00:00").toISOString(); delete f.since; }
        return filterQuery(f);
      },
      received(rows) { for (const row of rows) this.tasks.push(decorateTask(row)); },
      async reload() {
        this.page = 0;
        this.hasMore = true;
        this.tasks = [];
        await this.loadMore();
      },
      get isEmpty() { return !this.loading && this.tasks.length === 0; },
      applyFilters(event) {
        this.filters = readFilters(event.target.form || event.target);
        this.reload();
      },
      reuse(taskId) { window.location.href = reuseUrl(taskId); },
      askDelete(taskId) {
        this.pendingDelete = taskId;
        this.$refs.confirm.showModal();
      },
      async confirmDelete(event) {
        const choice = event.submitter ? event.submitter.value : "cancel";
        const taskId = this.pendingDelete;
        this.pendingDelete = null;
        if (choice !== "delete" || !taskId) return;
        const task = this.tasks.find((x) => x.task_id === taskId);
        let res = await api("DELETE", "task/" + encodeURIComponent(taskId));
        if (res.status === 202) res = await api("DELETE", "task/" + encodeURIComponent(taskId));  // cancelled first, then deleted
        if (res.status === 204) {
          this.tasks = this.tasks.filter((x) => x.task_id !== taskId);
          toast(task ? gettext("Deleted.") : "");
        } else {
          toast((res.data && res.data.message) || gettext("The request failed."));
        }
      },
    });
  }

  function toaster() {
    return {
      visible: false,
      message: "",
      timer: null,
      show(event) {
        if (!event.detail) return;
        this.message = event.detail;
        this.visible = true;
        window.clearTimeout(this.timer);
        this.timer = window.setTimeout(() => { this.visible = false; }, 4000);
      },
    };
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("generator", generator);
    window.Alpine.data("gallery", gallery);
    window.Alpine.data("history", history);
    window.Alpine.data("toaster", toaster);
  });
})();
