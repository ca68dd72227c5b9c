/* imagegen studio pages: Alpine.js components (registered for Alpine's CSP build, so no inline code in the
 * HTML and no eval). Every string shown comes from Django's JavaScript catalogue (gettext). User text is
 * only ever put in the page with x-text / attribute bindings, never as HTML. */
"use strict";

(function () {
  // Django's JavaScript catalogue (jsi18n) defines gettext and interpolate; the literal gettext("...")
  // calls are what makemessages collects into the djangojs catalogue.
  const gettext = window.gettext || ((s) => s);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
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

  /** A toast that says what went to the trash, with an Undo button that runs `undo` (it stays longer, and
   * while the pointer or the keyboard focus is on it). */
  function toastUndo(message, undo) {
    window.dispatchEvent(new CustomEvent("toast", { detail: { message, action: gettext("Undo"), run: undo } }));
  }

  /** Bring trash entries back (POST /api/v1/trash/{id}/restore); says so, and returns whether all came back. */
  async function restoreFromTrash(itemIds) {
    const results = await Promise.all(itemIds.map((id) => api("POST", "trash/" + encodeURIComponent(id) + "/restore")));
    const failed = results.find((r) => !r.ok);
    if (failed) { toast((failed.data && failed.data.message) || gettext("The request failed.")); return false; }
    toast(gettext("Restored."));
    return true;
  }

  let configCache = null;
  function pageConfig() {
    if (configCache) return configCache;
    const node = document.getElementById("page-config");
    const config = node ? JSON.parse(node.textContent) : { models: [] };
    for (const m of config.models) m.label = m.legacy ? fmt(gettext("%(name)s (legacy)"), { name: m.name }) : m.name;
    configCache = config;
    return config;
  }

  /** A model's name as people know it ("Seedream 3.0"), not its id; an id no longer offered stays as it is. */
  function modelName(id) {
    const model = pageConfig().models.find((m) => m.id === id);
    return model ? model.label : id;
  }

  /** Dates in the page's language (the language switch), not the browser's. */
  function localDate(value) {
    if (!value) return "";
    return new Date(value).toLocaleString(document.documentElement.lang || undefined);
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

  /** A thumbnail's accessible name: which image of how many, and of what (every one read "Open image"). */
  function openLabel(prompt, index, count) {
    const short = (prompt || "").length > 80 ? prompt.slice(0, 79) + "…" : (prompt || "");
    return count > 1
      ? fmt(gettext("Open image %(n)s of %(count)s: %(prompt)s"), { n: index + 1, count, prompt: short })
      : fmt(gettext("Open image: %(prompt)s"), { prompt: short });
  }

  /** What a screen reader (and a phone user scrolled elsewhere) hears when a task ends. */
  function finishedMessage(task) {
    const short = (task.prompt || "").length > 60 ? task.prompt.slice(0, 59) + "…" : (task.prompt || "");
    if (task.status === "completed") return fmt(gettext("Finished: %(prompt)s"), { prompt: short });
    if (task.status === "failed") return fmt(gettext("Failed: %(prompt)s"), { prompt: short });
    return "";
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
    const count = (task.images || []).length;
    const images = (task.images || []).map((img, i) => {
      const [tw, th] = thumbSize(img.width, img.height);
      return { ...img, thumbWidth: tw, thumbHeight: th, task_id: task.task_id, openLabel: openLabel(task.prompt, i, count) };
    });
    const code = task.error ? task.error.code : "";
    const message = (task.error && task.error.message) || "";
    return {
      ...task,
      images,
      unfinished,
      finished: !unfinished,
      // "Try again" only where sending the same request again can help (not for a model the account lacks).
      retryable: task.status === "cancelled" || (task.status === "failed" && !(pageConfig().retryCannotHelp || []).includes(code)),
      modelLabel: modelName(task.model),
      hasImages: images.length > 0,
      statusLabel: STATUS()[task.status] || task.status,
      stageLabel: STAGE()[task.stage] || task.stage,
      progressLabel: parts.join(" · "),
      sizeLabel: task.width + "×" + task.height,
      // Red only for a failure; a cancel is said by its badge; an attempt that failed while another is coming
      // is a note, not an error.
      errorMessage: task.status === "failed" ? message : "",
      noteMessage: unfinished ? message : "",
      createdLabel: localDate(task.created_at),
      costLabel: costLabel(task),
    };
  }

  /** A task's cost in words: what it was billed, or while unfinished what it may cost at most ("" with no price). */
  function costLabel(task) {
    const cost = task.cost;
    if (!cost) return "";
    if (cost.amount !== null && cost.amount !== undefined) {
      return fmt(ngettext("%(n)s image billed · %(amount)s %(currency)s", "%(n)s images billed · %(amount)s %(currency)s",
        task.images_billed || 0), { n: task.images_billed || 0, amount: cost.amount, currency: cost.currency });
    }
    if (TERMINAL.includes(task.status)) return "";
    return fmt(gettext("Up to %(amount)s %(currency)s"), { amount: cost.estimated, currency: cost.currency });
  }

  /** The cost of a batch's tasks on this page, per currency (amounts are exact decimal text; summed here
   * for display only, rounded to six places as stored). */
  function batchCostLabel(tasks) {
    const sums = {};
    for (const t of tasks) {
      if (!t.cost) continue;
      const billed = t.cost.amount !== null && t.cost.amount !== undefined;
      if (!billed && TERMINAL.includes(t.status)) continue;
      sums[t.cost.currency] = (sums[t.cost.currency] || 0) + Number(billed ? t.cost.amount : t.cost.estimated);
    }
    return Object.entries(sums).map(([currency, amount]) => fmt(gettext("up to %(amount)s %(currency)s"),
      { amount: String(Math.round(amount * 1e6) / 1e6), currency })).join(", ");
  }

  /** The studio filled from a task: everything (with this seed, if given), or `only` "prompt" or "seed". */
  function reuseUrl(taskId, seed, only) {
    return "/?reuse=" + encodeURIComponent(taskId) + (seed !== undefined && seed !== null ? "&seed=" + seed : "")
      + (only ? "&only=" + only : "");
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
          [gettext("Model"), modelName(task.model)], [gettext("Size"), image.width + "×" + image.height], [gettext("Seed"), image.seed],
          [gettext("Steps"), task.steps], [gettext("Guidance scale"), task.scale], [gettext("Negative prompt"), task.negative_prompt],
          [gettext("Enhanced prompt"), task.revised_prompt], [gettext("Engine"), task.engine],
          [gettext("Ignored parameters"), (task.ignored_params || []).join(", ")],
          [gettext("File"), image.format.toUpperCase() + " · " + Math.round(image.file_size / 1024) + " KB"],
          [gettext("Created"), localDate(task.created_at)],
          [gettext("Group"), task.group ? fmt(gettext("up to %(n)s images"), { n: task.num_images }) : ""],
        ].filter((r) => r[1] !== null && r[1] !== undefined && r[1] !== "");
        this.viewing = {
          ...image,
          prompt: task.prompt,
          task,
          params: rows.map(([name, value]) => ({ name, value: String(value) })),
          references: task.reference_images || [],
          downloadUrl: image.url + "?download=1",
        };
      },
      findImage(imageId) { return null; },
      get viewerHasRefs() { return !!(this.viewing && this.viewing.references && this.viewing.references.length); },
      get viewerCanStar() { return false; },
      get viewerCanShare() { return false; },
      get viewerStarLabel() { return this.viewing && this.viewing.starred ? gettext("Remove the star") : gettext("Star this image"); },
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
      reuseViewedPrompt() { window.location.href = reuseUrl(this.viewing.task_id, undefined, "prompt"); },
      reuseViewedSeedOnly() { window.location.href = reuseUrl(this.viewing.task_id, this.viewing.seed, "seed"); },
      async deleteViewed() {
        const gone = this.viewing.image_id;
        const taskId = this.viewing.task_id;
        const res = await api("DELETE", "images/" + gone);
        if (!res.ok && res.status !== 204) { toast(res.data.message); return; }
        this.imageDeleted(gone);
        toastUndo(gettext("Image moved to the trash."), async () => {
          if (await restoreFromTrash([gone])) await this.imagesRestored([taskId]);
        });
        // The viewer stays open on the next image (or the one before, after the last); it closes with the last.
        this.viewIds = this.viewIds.filter((id) => id !== gone);
        if (!this.viewIds.length) { this.closeViewer(); return; }
        this.viewIndex = Math.min(this.viewIndex, this.viewIds.length - 1);
        await this.showViewed(this.viewIds[this.viewIndex]);
      },
      imageDeleted(imageId) {},
      async imagesRestored(taskIds) {},
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
      /** Images back from the trash: their tasks are read again. */
      async imagesRestored(taskIds) {
        for (const taskId of new Set(taskIds)) {
          const res = await api("GET", "task/" + encodeURIComponent(taskId));
          const index = this.tasks.findIndex((x) => x.task_id === taskId);
          if (res.ok && index >= 0) this.tasks[index] = decorateTask(res.data);
          delete this.taskCache[taskId];
        }
      },
    };
  }

  /** The task stream (WebSocket /api/v1/generate/stream), when the server offers one. `onTask` gets every
   * state of the watched tasks, `onChange(up)` says whether the socket is open: the page polls whenever it
   * is not, and the socket is tried again later (2 s, doubling to 30 s). `options.followQueue`: each new
   * task of the user's queue is followed too (the queue page), and `options.onFollowing()` is called when
   * the server has accepted that. */
  function liveStream(settings, onTask, onChange, options = {}) {
    const live = { connected: false, socket: null, wanted: new Set(), retryMs: 2000, timer: null };
    function url() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      let base = scheme + "//" + window.location.host;
      if (settings.url) base = settings.url.replace(/^http/, "ws");
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
        if (options.followQueue) send({ type: "follow_queue" });
      });
      socket.addEventListener("message", (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message.task && message.type !== "created") onTask(message.task);
        if (message.type === "following_queue" && options.onFollowing) options.onFollowing();
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
      form: { prompt: "", negative_prompt: "", model: "", width: "", height: "", num_images: 1, steps: "", scale: "", seed: "", enhance_prompt: true, variations: 1, per_line: false, sweep: "", sweep_values: "", group: false },
      // Reference images chosen for the next task: { reference_id (ref_… or a gallery img_…), url }.
      refs: [],
      pickerOpen: false,
      pickerImages: [],
      sweptModels: [],
      errors: {},
      invalid: {},
      formError: "",
      submitting: false,
      waitLeft: 0,
      tasks: [],
      ratio: "1:1",
      timer: null,
      quota: null,
      spendingCaps: [],
      live: null,
      liveMode: "polling",

      async init() {
        this.quota = this.config.quota || null;
        this.spendingCaps = this.config.spendingCaps || [];
        const model = this.config.models.find((m) => m.default) || this.config.models[0];
        this.selectModel(model.id, true);
        const params = new URLSearchParams(window.location.search);
        if (params.get("reuse")) await this.reuse(params.get("reuse"), params.get("seed"), params.get("only"));
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
      // -- reference images (README, "Reference images") and group generation
      get refRule() { return (this.model && this.model.reference_images) || {}; },
      get takesRefs() { return !!this.refRule.supported; },
      // Said only for a model that could take them with presigned object storage, not for every model without.
      get refsUnavailable() { return this.refRule.needs_presigned_urls ? this.refRule.unavailable_reason : ""; },
      get refsHint() {
        return fmt(gettext("%(n)s of at most %(max)s · %(formats)s, up to %(mb)s MB each"), {
          n: this.refs.length, max: this.refRule.max, formats: (this.refRule.formats || []).join(", ").toUpperCase(),
          mb: Math.round((this.refRule.max_bytes || 0) / 1048576) });
      },
      get refsFull() { return this.refs.length >= (this.refRule.max || 0); },
      get groupSupported() { return !!(this.model && this.model.group && this.model.group.supported); },
      get groupLabel() { return fmt(gettext("As one group: up to %(n)s related images, the model decides how many"), { n: this.form.num_images }); },
      addRef(ref) {
        if (this.refsFull) { toast(fmt(gettext("This model takes at most %(max)s reference images."), { max: this.refRule.max })); return; }
        if (!this.refs.some((r) => r.reference_id === ref.reference_id)) this.refs = [...this.refs, ref];
      },
      removeRef(id) { this.refs = this.refs.filter((r) => r.reference_id !== id); },
      async onReferenceFiles(event) {
        const files = [...event.target.files];
        event.target.value = "";
        for (const file of files) {
          let res;
          try {
            res = await fetch("/api/v1/references", { method: "POST", body: file, credentials: "same-origin",
              headers: { Accept: "application/json", "Content-Type": file.type || "application/octet-stream", "X-CSRFToken": cookie("csrftoken") } });
          } catch (e) { toast(gettext("The server could not be reached. Check your connection.")); return; }
          let data = {};
          try { data = await res.json(); } catch (e) { data = {}; }
          if (!res.ok) { toast(data.message || gettext("The request failed.")); continue; }
          this.addRef({ reference_id: data.reference_id, url: "/api/v1/references/" + encodeURIComponent(data.reference_id) });
        }
      },
      async openPicker() {
        const res = await api("GET", "images?page_size=24");
        if (!res.ok) { toast(res.data.message); return; }
        this.pickerImages = res.data.results;
        this.pickerOpen = true;
      },
      closePicker() { this.pickerOpen = false; },
      get pickerEmpty() { return this.pickerImages.length === 0; },
      pickGallery(imageId) {
        const image = this.pickerImages.find((i) => i.image_id === imageId);
        if (image) this.addRef({ reference_id: image.image_id, url: image.thumbnail_url });
        this.pickerOpen = false;
      },
      // Over the generation budget: the button waits out Retry-After, counting down, then works again.
      get blocked() { return this.submitting || this.waitLeft > 0; },
      get waitText() {
        return this.waitLeft > 0 ? fmt(gettext("Generation limit reached. You can generate again in %(n)s s."), { n: this.waitLeft }) : "";
      },
      waitFor(secondsToWait) {
        const until = Date.now() + secondsToWait * 1000;
        const tick = () => {
          this.waitLeft = Math.max(0, Math.ceil((until - Date.now()) / 1000));
          if (this.waitLeft > 0) window.setTimeout(tick, Math.min(1000, until - Date.now()));
        };
        tick();
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
      // What is left of each spending cap (the site's and the user's own), as GET /api/v1/account says.
      get hasCaps() { return this.spendingCaps.length > 0; },
      get capLines() {
        const words = {
          "site day images": gettext("%(remaining)s of %(limit)s images left under the site's daily cap"),
          "site month images": gettext("%(remaining)s of %(limit)s images left under the site's monthly cap"),
          "user day images": gettext("%(remaining)s of %(limit)s images left under your daily cap"),
          "user month images": gettext("%(remaining)s of %(limit)s images left under your monthly cap"),
          "site day money": gettext("%(remaining)s of %(limit)s %(currency)s left under the site's daily spending cap"),
          "site month money": gettext("%(remaining)s of %(limit)s %(currency)s left under the site's monthly spending cap"),
          "user day money": gettext("%(remaining)s of %(limit)s %(currency)s left under your daily spending cap"),
          "user month money": gettext("%(remaining)s of %(limit)s %(currency)s left under your monthly spending cap"),
        };
        return this.spendingCaps.map((c) => ({
          cap: c.cap,
          text: fmt(words[[c.scope, c.period, c.unit].join(" ")] || c.cap, { remaining: c.remaining, limit: c.limit, currency: c.currency || "" }),
          exhausted: String(Number(c.remaining) <= 0),
        }));
      },
      async refreshQuota() {
        if (this.quota) {
          const res = await api("GET", "account");
          if (res.ok) { this.quota = res.data.quota; this.spendingCaps = res.data.spending_caps; }
        } else if (this.hasCaps) {  // open mode: the site's caps alone
          const res = await api("GET", "spending-caps");
          if (res.ok) this.spendingCaps = res.data;
        }
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
        this.clearError(el.name.startsWith("sweep") ? "sweep" : el.name);
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
        const v = Number(this.form.variations);
        if (!Number.isInteger(v) || v < 1 || this.taskCount > this.config.maxBatch) {
          errors.variations = fmt(gettext("At most %(n)s tasks in one batch."), { n: this.config.maxBatch });
        }
        if (this.form.sweep && !this.sweepValues().length) errors.sweep = gettext("Give the values to sweep over.");
        if (this.form.seed !== "" && this.form.seed !== null) {
          const seed = Number(this.form.seed);
          if (!Number.isInteger(seed) || seed < -1 || seed > 2147483647) errors.seed = gettext("A whole number from -1 to 2147483647.");
        }
        return errors;
      },
      /** The prompts to send: the one prompt, or one per line when "One task per line" is on. */
      prompts() {
        const text = this.form.prompt.trim();
        if (!this.form.per_line) return text ? [text] : [];
        return text.split("\n").map((line) => line.trim()).filter(Boolean);
      },
      /** The values of the sweep: typed seeds or sizes, or the models ticked. */
      sweepValues() {
        if (this.form.sweep === "model") return this.sweptModels;
        if (!this.form.sweep) return [];
        const parts = String(this.form.sweep_values || "").split(/[,，\s]+/).filter(Boolean);
        return this.form.sweep === "seed" ? parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : parts;
      },
      get sweepTyped() { return this.form.sweep === "seed" || this.form.sweep === "size"; },
      get sweepModels() { return this.form.sweep === "model"; },
      get sweepPlaceholder() { return this.form.sweep === "size" ? "1024x1024, 1280x720" : "1, 2, 3"; },
      onSweepModel(event) {
        const id = event.target.value;
        this.sweptModels = event.target.checked ? [...this.sweptModels, id] : this.sweptModels.filter((m) => m !== id);
      },
      get taskCount() {
        return Math.max(1, this.prompts().length) * Math.max(1, Number(this.form.variations) || 1) * Math.max(1, this.sweepValues().length);
      },
      get isBatch() { return this.taskCount > 1 || this.sweepValues().length > 0; },
      get batchLabel() {
        const n = this.taskCount;
        return n > 1 ? fmt(gettext("Makes %(n)s tasks as one batch."), { n }) : "";
      },
      batchBody() {
        const body = this.body();
        const prompts = this.prompts();
        delete body.prompt;
        if (prompts.length > 1) body.prompts = prompts; else body.prompt = prompts[0];
        if (Number(this.form.variations) > 1) body.variations = Number(this.form.variations);
        const values = this.sweepValues();
        if (values.length) {
          body.sweep = { param: this.form.sweep, values };
          if (this.form.sweep === "model") delete body.model;
          if (this.form.sweep === "size") { delete body.width; delete body.height; }
          if (this.form.sweep === "seed") delete body.seed;
        }
        return body;
      },
      body() {
        const f = this.form;
        const body = { prompt: f.prompt.trim(), model: f.model, width: Number(f.width), height: Number(f.height), num_images: Number(f.num_images) };
        if (this.supports.negative_prompt && f.negative_prompt.trim()) body.negative_prompt = f.negative_prompt.trim();
        if (this.supports.steps && f.steps !== "") body.steps = Number(f.steps);
        if (this.supports.scale && f.scale !== "") body.scale = Number(f.scale);
        if (this.supports.enhance_prompt) body.enhance_prompt = !!f.enhance_prompt;
        if (f.seed !== "" && f.seed !== null) body.seed = Number(f.seed);
        if (this.takesRefs && this.refs.length) body.reference_images = this.refs.map((r) => r.reference_id);
        if (this.groupSupported && f.group) body.group = true;
        return body;
      },
      showErrors(errors) {
        this.errors = errors;
        this.invalid = Object.fromEntries(Object.keys(errors).map((k) => [k, "true"]));
      },
      async submit() {
        if (this.blocked) return;
        this.formError = "";
        const errors = this.validate();
        if (Object.keys(errors).length) { this.showErrors(errors); return; }
        const batch = this.isBatch;
        this.submitting = true;
        const res = batch ? await api("POST", "batches", this.batchBody()) : await api("POST", "generate", this.body());
        this.submitting = false;
        if (res.status === 201 || res.status === 429) this.refreshQuota();
        if (res.status === 201 && batch) {
          this.showErrors({});
          // Its tasks are ordinary tasks: each gets its card, newest (the last made) on top.
          for (const task of res.data.tasks) this.adopt(task);
          this.showNewTask(res.data.tasks[res.data.tasks.length - 1].task_id,
            fmt(gettext("Started a batch of %(n)s tasks."), { n: res.data.total }));
          return;
        }
        if (res.status === 201) {
          this.showErrors({});
          await this.track(res.data.task_id);
          this.showNewTask(res.data.task_id);
          return;
        }
        const data = res.data || {};
        if (res.status === 429 && data.error === "rate_limit_exceeded" && data.retry_after) {
          this.waitFor(data.retry_after);
          return;
        }
        if (res.status === 400 && data.details && typeof data.details === "object") {
          const fieldErrors = {};
          for (const [field, messages] of Object.entries(data.details)) {
            const name = field.startsWith("sweep") || /^(seed|size|model)=/.test(field) ? "sweep" : field;
            fieldErrors[name] = fieldErrors[name] || (Array.isArray(messages) ? messages[0] : String(messages));
          }
          this.showErrors(fieldErrors);
        }
        this.formError = data.message || gettext("The request failed.");
      },

      /** On a phone the new card lands below the form: bring it into view and say it started. */
      showNewTask(taskId, said) {
        toast(said || gettext("Started: it is at the top of Your generations."));
        this.$nextTick(() => {
          const card = document.querySelector('.task-card[data-task="' + CSS.escape(taskId) + '"]');
          if (!card) return;
          const box = card.getBoundingClientRect();
          if (box.top >= 0 && box.bottom <= window.innerHeight) return;
          const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
          card.scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
        });
      },
      /** The unfinished batches among the cards: progress over their tasks here, cancel, the gallery. */
      get batches() {
        const groups = {};
        for (const t of this.tasks) if (t.batch_id) (groups[t.batch_id] = groups[t.batch_id] || []).push(t);
        return Object.entries(groups).filter(([, tasks]) => tasks.some((t) => t.unfinished)).map(([id, tasks]) => {
          const done = tasks.filter((t) => t.finished).length;
          const share = Math.round(tasks.reduce((sum, t) => sum + (t.finished ? 100 : t.progress), 0) / tasks.length);
          const cost = batchCostLabel(tasks);
          return { id, label: fmt(gettext("Batch: %(done)s of %(n)s done"), { done, n: tasks.length }) + " · " + share + "%" + (cost ? " · " + cost : ""),
                   share, galleryUrl: "/gallery?batch=" + encodeURIComponent(id) };
        });
      },
      async cancelBatch(batchId) {
        const res = await api("DELETE", "batches/" + encodeURIComponent(batchId));
        if (!res.ok) { toast(res.data.message); return; }
        for (const task of res.data.tasks) {
          const index = this.tasks.findIndex((x) => x.task_id === task.task_id);
          if (index >= 0) this.tasks[index] = decorateTask({ ...this.tasks[index], ...task });
        }
        this.refreshQuota();
      },
      /** Replaces a card with a newer state of its task, and says so when the task has just ended. */
      updateTask(index, task) {
        const was = this.tasks[index];
        this.tasks[index] = decorateTask(task);
        if (was.unfinished && TERMINAL.includes(task.status)) {
          const said = finishedMessage(task);
          if (said) toast(said);
        }
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
        if (res.ok) this.adopt(res.data);
      },
      /** A card for a task the page has the JSON of, on top, followed live until it ends. */
      adopt(task) {
        this.tasks = [decorateTask(task), ...this.tasks.filter((x) => x.task_id !== task.task_id)];
        this.remember();
        if (this.live && !TERMINAL.includes(task.status)) this.live().watch(task.task_id);
      },
      streamed(task) {
        const index = this.tasks.findIndex((x) => x.task_id === task.task_id);
        if (index >= 0) this.updateTask(index, task);
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
          if (index >= 0) this.updateTask(index, res.data);
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
      /** "Try again": the same task runs again (its settings, seed and references), on top, followed live. */
      async retry(taskId) {
        const res = await api("POST", "task/" + encodeURIComponent(taskId) + "/retry");
        this.refreshQuota();
        if (!res.ok) { toast(res.data.message); return; }
        this.adopt(res.data);
      },
      async reuse(taskId, seed, only) {
        let task = this.tasks.find((x) => x.task_id === taskId);
        // A list row has no reference images: the task's own JSON does.
        if (!task || task.reference_images === undefined) {
          const res = await api("GET", "task/" + encodeURIComponent(taskId));
          if (!res.ok) { toast(res.data.message); return; }
          task = res.data;
        }
        if (only === "prompt") this.form.prompt = task.prompt;
        else if (only === "seed") this.form.seed = seed !== undefined && seed !== null && seed !== "" ? Number(seed) : task.seed;
        else this.fill(task, seed);
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
        // Reuse carries the references along: the task's own copies, named by their ids.
        this.refs = (task.reference_images || []).map((r) => ({ reference_id: r.reference_id, url: r.url }));
        this.form.group = !!task.group;
      },
      // -- settings from a picture (dropped on the form, or chosen with the button)
      found: null,
      dragging: false,
      onDragOver(event) {
        if (event.dataTransfer && [...event.dataTransfer.types].includes("Files")) { event.preventDefault(); this.dragging = true; }
      },
      onDragLeave() { this.dragging = false; },
      async onDrop(event) {
        this.dragging = false;
        const file = event.dataTransfer && event.dataTransfer.files[0];
        if (!file) return;
        event.preventDefault();
        await this.readPicture(file);
      },
      async onPicture(event) {
        const file = event.target.files[0];
        event.target.value = "";
        if (file) await this.readPicture(file);
      },
      async readPicture(file) {
        let found = null;
        try { found = await settingsFromPicture(file); } catch (e) { found = null; }
        if (!found || !found.prompt) {
          this.found = null;
          toast(gettext("No settings found in this picture: only PNG files from this app, AUTOMATIC1111 or ComfyUI carry them."));
          return;
        }
        const known = found.model && this.config.models.find((m) => m.id === found.model || (m.aliases || []).includes(found.model));
        found.modelId = known ? known.id : "";
        const parts = [found.source];
        if (found.seed !== undefined) parts.push(fmt(gettext("seed %(seed)s"), { seed: found.seed }));
        if (found.width) parts.push(found.width + "×" + found.height);
        if (found.steps !== undefined) parts.push(fmt(gettext("%(n)s steps"), { n: found.steps }));
        if (known) parts.push(known.label || known.id);
        found.summary = parts.join(" · ");
        this.found = found;
      },
      get foundHasSeed() { return !!this.found && this.found.seed !== undefined; },
      useFound(what) {
        const f = this.found;
        if (!f) return;
        if (what === "all") {
          if (f.modelId) this.selectModel(f.modelId, true);
          if (f.width && f.height) { this.form.width = f.width; this.form.height = f.height; }
          if (f.steps !== undefined && this.supports.steps) this.form.steps = f.steps;
          if (f.scale !== undefined && this.supports.scale) this.form.scale = f.scale;
          this.form.negative_prompt = f.negative_prompt || "";
        }
        if (what === "all" || what === "prompt") this.form.prompt = f.prompt;
        if ((what === "all" || what === "seed") && f.seed !== undefined) this.form.seed = f.seed;
        this.found = null;
        this.showErrors(this.validate());
        toast(gettext("Settings filled in from the picture."));
      },
      clearFinished() {
        this.tasks = this.tasks.filter((x) => x.unfinished);
        this.remember();
      },
    });
  }

  /** Infinite scroll over a paginated API list. A reload (the filters changed) starts at once, even while a
   * page is on its way: the answer to a request made before the last reload is dropped, never shown. */
  function pagedList(path) {
    return {
      page: 0,
      hasMore: true,
      loading: false,
      generation: 0,
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
        this.generation += 1;
        this.page = 0;
        this.hasMore = true;
        this.loading = false;
        this.clearItems();
        await this.loadMore();
      },
      clearItems() {},
      async loadMore() {
        if (this.loading || !this.hasMore) return;
        const generation = this.generation;
        this.loading = true;
        const res = await api("GET", this.listPath() + "?page=" + (this.page + 1) + "&page_size=30" + this.query());
        if (generation !== this.generation) return;  // the filters changed meanwhile: a newer load owns the list
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

  /** The filters named in the address, so a reload or a shared link shows the same list. */
  function filtersFromUrl(keys) {
    const params = new URLSearchParams(window.location.search);
    return Object.fromEntries(keys.filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
  }

  function keepFiltersInUrl(filters) {
    const url = new URL(window.location.href);
    url.search = new URLSearchParams(filters).toString();
    window.history.replaceState(null, "", url);
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
      lastPicked: null,

      async init() {
        this.filters = filtersFromUrl(["q", "tag", "model", "batch", "board", "starred"]);
        for (const m of this.config.models) m.selected = m.id === this.filters.model;
        this.loadTags();
        this.loadBoards();
        await this.loadMore();
        this.startScrolling();
      },
      query() { return filterQuery(this.filters); },
      received(rows) {
        for (const img of rows) {
          const [tw, th] = thumbSize(img.width, img.height);
          this.images.push({ ...img, thumbWidth: tw, thumbHeight: th, selected: this.selected.includes(img.image_id), openLabel: openLabel(img.prompt, 0, 1) });
        }
      },
      clearItems() { this.images = []; },
      async loadTags() {
        const res = await api("GET", "tags");
        if (res.ok) this.tags = res.data;
      },
      // -- boards and stars: a board or "Starred" is a filter kept in the address, like the others
      boards: [],
      newBoardOpen: false,
      async loadBoards() {
        const res = await api("GET", "boards");
        if (res.ok) this.boards = res.data.map((b) => ({ ...b, label: b.name + " (" + b.count + ")" }));
      },
      get boardFilter() { return this.filters.board || (this.filters.starred ? "starred" : ""); },
      boardMark(which) { return this.boardFilter === which ? "true" : null; },
      get currentBoard() { return this.boards.find((b) => b.board_id === this.filters.board) || null; },
      showBoard(which) {
        const { board, starred, ...rest } = this.filters;
        this.filters = which === "starred" ? { ...rest, starred: "true" } : which ? { ...rest, board: which } : rest;
        keepFiltersInUrl(this.filters);
        this.reload();
      },
      async createBoard(event) {
        const input = event.target.elements.name;
        const res = await api("POST", "boards", { name: input.value });
        if (!res.ok) { toast(res.data.message); return; }
        input.value = "";
        this.newBoardOpen = false;
        await this.loadBoards();
        toast(fmt(gettext("Board %(name)s made."), { name: res.data.name }));
      },
      async renameBoard() {
        const board = this.currentBoard;
        const name = board && window.prompt(gettext("New name for the board"), board.name);
        if (!name) return;
        const res = await api("PATCH", "boards/" + board.board_id, { name });
        if (!res.ok) { toast(res.data.message); return; }
        await this.loadBoards();
      },
      async deleteBoard() {
        const board = this.currentBoard;
        if (!board || !window.confirm(fmt(gettext("Delete the board %(name)s? Its images stay in the gallery."), { name: board.name }))) return;
        const res = await api("DELETE", "boards/" + board.board_id);
        if (!res.ok && res.status !== 204) { toast(res.data.message); return; }
        this.showBoard("");
        await this.loadBoards();
      },
      async addSelectedToBoard(event) {
        const boardId = event.target.elements.board.value;
        if (!boardId) return;
        if (!this.selected.length) { toast(gettext("Select some images first.")); return; }
        const res = await api("POST", "boards/" + boardId + "/images", { image_ids: this.selected });
        if (!res.ok) { toast(res.data.message); return; }
        toast(fmt(gettext("Added %(n)s images to %(name)s."), { n: res.data.added, name: res.data.board.name }));
        await this.loadBoards();
      },
      async removeFromBoard(imageId) {
        const res = await api("DELETE", "boards/" + this.filters.board + "/images/" + imageId);
        if (!res.ok) { toast(res.data.message); return; }
        this.images = this.images.filter((img) => img.image_id !== imageId);
        await this.loadBoards();
      },
      starLabel(img) { return img.starred ? gettext("Remove the star") : gettext("Star this image"); },
      async toggleStar(img) {
        const res = await api(img.starred ? "DELETE" : "PUT", "images/" + img.image_id + "/star");
        if (!res.ok) { toast(res.data.message); return; }
        img.starred = res.data.starred;
        if (this.viewing && this.viewing.image_id === img.image_id) this.viewing.starred = img.starred;
        if (!img.starred && this.filters.starred) this.images = this.images.filter((x) => x.image_id !== img.image_id);
      },
      get viewerCanStar() { return !!this.viewing; },
      get viewerCanShare() { return !!this.viewing; },
      // -- share links: the dialog for the image in the viewer, or the board shown
      shareTarget: null,
      sharedUrl: "",
      shareViewed() { this.openShare("image", this.viewing.image_id); },
      shareBoard() { if (this.currentBoard) this.openShare("board", this.currentBoard.board_id); },
      openShare(kind, id) {
        this.shareTarget = { kind, id };
        this.sharedUrl = "";
        this.$refs.share.showModal();
      },
      async makeShare(event) {
        const form = event.target;
        const days = form.elements.expires.value;
        const res = await api("POST", "shares", { kind: this.shareTarget.kind, target_id: this.shareTarget.id,
          show_prompt: form.elements.show_prompt.checked, expires_in_days: days ? Number(days) : null });
        if (!res.ok) { toast(res.data.message); return; }
        this.sharedUrl = window.location.origin + res.data.url;
        try { await navigator.clipboard.writeText(this.sharedUrl); toast(gettext("Link made and copied.")); }
        catch (e) { toast(gettext("Link made.")); }
      },
      closeShare() { this.$refs.share.close(); },
      get hasSharedUrl() { return !!this.sharedUrl; },
      toggleViewedStar() { const img = this.findImage(this.viewing.image_id); if (img) this.toggleStar(img); },
      clearBatch() {
        const { batch, ...rest } = this.filters;
        this.filters = rest;
        keepFiltersInUrl(this.filters);
        this.reload();
      },
      get tagOptions() {
        return this.tags.map((x) => ({ ...x, label: x.tag_name + " (" + x.count + ")", selected: x.tag_name === this.filters.tag }));
      },
      get isEmpty() { return !this.loading && this.images.length === 0; },
      applyFilters(event) {
        const form = event.target.form || event.target;
        const kept = Object.fromEntries(["batch", "board", "starred"].filter((k) => this.filters[k]).map((k) => [k, this.filters[k]]));
        this.filters = { ...readFilters(form), ...kept };
        keepFiltersInUrl(this.filters);
        this.reload();
      },
      activate(imageId, event) {
        if (!this.selecting) { this.openImage(imageId); return; }
        const ids = this.images.map((img) => img.image_id);
        if (event && event.shiftKey && this.lastPicked && ids.includes(this.lastPicked)) {
          // Shift-click: everything between the last image picked and this one takes the state of that pick.
          const [a, b] = [ids.indexOf(this.lastPicked), ids.indexOf(imageId)].sort((x, y) => x - y);
          const range = ids.slice(a, b + 1);
          const on = this.selected.includes(this.lastPicked);
          this.selected = on ? [...new Set([...this.selected, ...range])] : this.selected.filter((x) => !range.includes(x));
        } else {
          this.selected = this.selected.includes(imageId) ? this.selected.filter((x) => x !== imageId) : [...this.selected, imageId];
        }
        this.lastPicked = imageId;
        this.markSelected();
      },
      markSelected() { for (const img of this.images) img.selected = this.selected.includes(img.image_id); },
      selectAll() { this.selected = this.images.map((img) => img.image_id); this.markSelected(); },
      selectNone() { this.selected = []; this.markSelected(); },
      get allSelected() { return this.images.length > 0 && this.selected.length === this.images.length; },
      get notSelecting() { return !this.selecting; },
      get hasSelection() { return this.selected.length > 0; },
      get noSelection() { return this.selected.length === 0; },
      get selectionLabel() { return fmt(gettext("%(n)s selected — click images to select them, shift-click for a range"), { n: this.selected.length }); },
      get zipUrl() { return "/api/v1/images/zip?ids=" + this.selected.join(","); },
      startSelecting() { this.selecting = true; },
      stopSelecting() {
        this.selecting = false;
        this.lastPicked = null;
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
        const gone = [...this.selected];
        if (await this.bulk("delete")) {
          this.images = this.images.filter((img) => !gone.includes(img.image_id));
          this.stopSelecting();
          this.loadTags();
          this.loadBoards();
          toastUndo(fmt(ngettext("%(n)s image moved to the trash.", "%(n)s images moved to the trash.", gone.length), { n: gone.length }),
            async () => { if (await restoreFromTrash(gone)) await this.imagesRestored(); });
        }
      },
      viewerImageIds() { return this.images.map((i) => i.image_id); },
      findImage(imageId) { return this.images.find((i) => i.image_id === imageId) || null; },
      tagsChanged() { this.loadTags(); },
      imageDeleted(imageId) {
        this.images = this.images.filter((i) => i.image_id !== imageId);
        this.loadTags();
        this.loadBoards();
      },
      async imagesRestored() {
        this.loadTags();
        this.loadBoards();
        await this.reload();
      },
    });
  }

  /** History: every generation, searchable, with reuse and delete (to the trash, with Undo). */
  function history() {
    return mix(viewerMixin(), taskImages(), pagedList("tasks"), {
      config: pageConfig(),
      tasks: [],
      filters: {},

      async init() {
        this.filters = filtersFromUrl(["q", "status", "model", "since"]);
        for (const m of this.config.models) m.selected = m.id === this.filters.model;
        await this.loadMore();
        this.startScrolling();
      },
      query() {
        const f = { ...this.filters };
        if (f.since) { f.created_after = new Date(f.since + "T00:00:00").toISOString(); delete f.since; }
        return filterQuery(f);
      },
      received(rows) { for (const row of rows) this.tasks.push(decorateTask(row)); },
      clearItems() { this.tasks = []; },
      get isEmpty() { return !this.loading && this.tasks.length === 0; },
      applyFilters(event) {
        this.filters = readFilters(event.target.form || event.target);
        keepFiltersInUrl(this.filters);
        this.reload();
      },
      reuse(taskId) { window.location.href = reuseUrl(taskId); },
      /** To the trash at once (an unfinished task is cancelled first); the toast offers Undo. */
      async remove(taskId) {
        let res = await api("DELETE", "task/" + encodeURIComponent(taskId));
        if (res.status === 202) res = await api("DELETE", "task/" + encodeURIComponent(taskId));  // cancelled first, then deleted
        if (res.status !== 204) { toast((res.data && res.data.message) || gettext("The request failed.")); return; }
        this.tasks = this.tasks.filter((x) => x.task_id !== taskId);
        toastUndo(gettext("Generation moved to the trash."), async () => {
          if (await restoreFromTrash([taskId])) await this.reload();
        });
      },
    });
  }

  // -- Settings from a picture: PNG text chunks as AUTOMATIC1111 ("parameters", which this app writes too)
  // and ComfyUI ("prompt", its graph as JSON) leave them. Read in the browser: the picture is never sent.

  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  /** The text chunks of a PNG as {keyword: text}, or null when the bytes are not a PNG. */
  async function pngTexts(buffer) {
    const bytes = new Uint8Array(buffer);
    const signature = [137, 80, 78, 71, 13, 10, 26, 10];
    if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) return null;
    const view = new DataView(buffer);
    const latin1 = new TextDecoder("latin1");
    const utf8 = new TextDecoder("utf-8");
    const texts = {};
    let at = 8;
    while (at + 12 <= bytes.length) {
      const length = view.getUint32(at);
      const type = latin1.decode(bytes.subarray(at + 4, at + 8));
      const data = bytes.subarray(at + 8, Math.min(at + 8 + length, bytes.length));
      at += 12 + length;
      if (type === "IEND") break;
      if (!["tEXt", "zTXt", "iTXt"].includes(type)) continue;
      const zero = data.indexOf(0);
      if (zero < 0) continue;
      const keyword = latin1.decode(data.subarray(0, zero));
      try {
        if (type === "tEXt") texts[keyword] = latin1.decode(data.subarray(zero + 1));
        else if (type === "zTXt") texts[keyword] = latin1.decode(await inflate(data.subarray(zero + 2)));
        else {
          const compressed = data[zero + 1] === 1;
          let rest = data.subarray(zero + 3);
          rest = rest.subarray(rest.indexOf(0) + 1);  // language tag
          rest = rest.subarray(rest.indexOf(0) + 1);  // translated keyword
          texts[keyword] = utf8.decode(compressed ? await inflate(rest) : rest);
        }
      } catch (e) { /* a damaged chunk: the others may still say something */ }
    }
    return texts;
  }

  /** AUTOMATIC1111's infotext: the prompt, "Negative prompt: …", then "Key: value, Key: value". */
  function parseA1111(text) {
    const lines = text.trim().split("\n");
    const pairs = {};
    const pattern = /\s*([\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
    // The last line holds the parameters when there is more than one line and it names one of them.
    const hasParameters = lines.length > 1 && /(^|, )(Steps|Seed|Size|Model|CFG scale): /.test(lines[lines.length - 1]);
    const last = hasParameters ? lines.pop() : "";
    for (const match of last.matchAll(pattern)) {
      let value = match[2].trim();
      if (value.startsWith('"')) { try { value = JSON.parse(value); } catch (e) { /* keep as written */ } }
      pairs[match[1].trim()] = value;
    }
    const negativeAt = lines.findIndex((line) => line.startsWith("Negative prompt:"));
    const prompt = (negativeAt >= 0 ? lines.slice(0, negativeAt) : lines).join("\n").trim();
    const negative = negativeAt >= 0 ? lines.slice(negativeAt).join("\n").replace(/^Negative prompt:\s*/, "").trim() : "";
    const found = { prompt, negative_prompt: negative };
    if (/^-?\d+$/.test(pairs.Seed || "")) found.seed = Number(pairs.Seed);
    if (/^\d+$/.test(pairs.Steps || "")) found.steps = Number(pairs.Steps);
    if (/^\d+(\.\d+)?$/.test(pairs["CFG scale"] || "")) found.scale = Number(pairs["CFG scale"]);
    const size = /^(\d+)x(\d+)$/.exec(pairs.Size || "");
    if (size) { found.width = Number(size[1]); found.height = Number(size[2]); }
    if (pairs.Model) found.model = pairs.Model;
    return found;
  }

  /** ComfyUI's "prompt" graph: the sampler's seed, steps and CFG, the texts wired to it, the latent size. */
  function parseComfy(text) {
    const graph = JSON.parse(text);
    const nodes = Object.values(graph || {});
    const sampler = nodes.find((n) => n && /KSampler/.test(n.class_type || ""));
    if (!sampler) return null;
    const input = sampler.inputs || {};
    const textOf = (link) => {
      const node = Array.isArray(link) ? graph[link[0]] : null;
      return node && node.inputs && typeof node.inputs.text === "string" ? node.inputs.text : "";
    };
    const found = { prompt: textOf(input.positive).trim(), negative_prompt: textOf(input.negative).trim() };
    const seed = input.seed !== undefined ? input.seed : input.noise_seed;
    if (Number.isInteger(seed)) found.seed = seed;
    if (Number.isInteger(input.steps)) found.steps = input.steps;
    if (typeof input.cfg === "number") found.scale = input.cfg;
    const latent = nodes.find((n) => n && /EmptyLatentImage/.test(n.class_type || ""));
    if (latent && Number.isInteger(latent.inputs.width)) { found.width = latent.inputs.width; found.height = latent.inputs.height; }
    return found;
  }

  /** The settings a picture carries, or null. */
  async function settingsFromPicture(file) {
    const texts = await pngTexts(await file.arrayBuffer());
    if (!texts) return null;
    if (texts.parameters) return { ...parseA1111(texts.parameters), source: "A1111" };
    if (texts.prompt) { try { const found = parseComfy(texts.prompt); if (found) return { ...found, source: "ComfyUI" }; } catch (e) { /* not JSON */ } }
    return null;
  }

  /** The queue page: every unfinished task of this client (user; staff: everyone's) from any device, in
   * the order they will run; and the recently finished. Live over the stream: it follows the queue (each new
   * task of this user arrives by itself) and each listed task's progress and place. Without a socket, and
   * for staff's "everyone" view, it re-reads the list every 2 s while the page is visible; with one, every
   * 30 s, to stay exact. */
  function queue() {
    return {
      config: pageConfig(),
      open: [],
      recent: [],
      everyone: false,
      timer: null,
      live: null,
      liveMode: "polling",
      lastLoad: 0,
      async init() {
        this.everyone = this.config.everyoneAllowed && new URLSearchParams(window.location.search).get("everyone") === "true";
        // Kept out of Alpine's reactive state (a WebSocket must not be proxied).
        const live = liveStream(this.config.stream, (task) => this.streamed(task),
          (up) => { this.liveMode = up ? "socket" : "polling"; },
          { followQueue: true, onFollowing: () => { this.liveMode = "following"; } });
        this.live = () => live;
        await this.load();
        live.start();
        this.timer = window.setInterval(() => {
          const every = this.liveMode !== "polling" && !this.everyone ? 30000 : 2000;
          if (!document.hidden && Date.now() - this.lastLoad >= every) this.load();
        }, 1000);
      },
      destroy() { window.clearInterval(this.timer); },
      /** A task's state from the stream: its row changes in place, a new one joins, a finished one leaves. */
      streamed(task) {
        const index = this.open.findIndex((t) => t.task_id === task.task_id);
        if (TERMINAL.includes(task.status)) {
          if (index >= 0) {
            this.open.splice(index, 1);
            toast(fmt(gettext("Left the queue: %(prompt)s"), { prompt: task.prompt.slice(0, 60) }));
          }
          if (!this.recent.some((t) => t.task_id === task.task_id)) {
            this.recent = [{ ...decorateTask(task), reuseUrl: reuseUrl(task.task_id) }, ...this.recent].slice(0, 10);
          }
          return;
        }
        if (this.everyone) return;  // staff's view of everyone's is re-read, not followed
        const row = this.decorate(task);
        if (index >= 0) this.open.splice(index, 1, row); else this.open.push(row);
        this.open.sort((a, b) => this.place(a) - this.place(b) || a.created_at.localeCompare(b.created_at));
      },
      place(task) { return task.queue_position === null || task.queue_position === undefined ? -1 : task.queue_position; },
      async load() {
        const [open, recent] = await Promise.all([
          api("GET", "queue" + (this.everyone ? "?everyone=true" : "")),
          api("GET", "tasks?status=completed,failed,cancelled&page_size=10"),
        ]);
        this.lastLoad = Date.now();
        if (open.ok) {
          const finishedHere = this.open.filter((t) => !open.data.tasks.some((x) => x.task_id === t.task_id));
          for (const t of finishedHere) toast(fmt(gettext("Left the queue: %(prompt)s"), { prompt: t.prompt.slice(0, 60) }));
          this.open = open.data.tasks.map((task) => this.decorate(task));
          // The first 50 are followed (a socket may follow 100 tasks); the rest change places on the re-reads.
          if (!this.everyone) for (const task of this.open.slice(0, 50)) this.live().watch(task.task_id);
        }
        if (recent.ok) this.recent = recent.data.results.map((task) => ({ ...decorateTask(task), reuseUrl: reuseUrl(task.task_id) }));
      },
      decorate(task) {
        const t = decorateTask(task);
        const waiting = task.status === "pending" && task.queue_position !== null && task.queue_position !== undefined;
        t.placeLabel = waiting ? (task.queue_position === 0 ? gettext("Next") : "#" + (task.queue_position + 1)) : gettext("Running");
        t.movable = waiting && !this.everyone;
        return t;
      },
      get noOpen() { return this.open.length === 0; },
      get openTitle() { return fmt(gettext("Running and waiting (%(n)s)"), { n: this.open.length }); },
      toggleEveryone(event) {
        this.everyone = event.target.checked;
        keepFiltersInUrl(this.everyone ? { everyone: "true" } : {});
        this.load();
      },
      async cancel(taskId) {
        const res = await api("DELETE", "task/" + encodeURIComponent(taskId));
        if (!res.ok) { toast(res.data.message); return; }
        await this.load();
      },
      async moveUp(taskId) {
        const res = await api("POST", "task/" + encodeURIComponent(taskId) + "/front");
        if (!res.ok) { toast(res.data.message); return; }
        await this.load();
      },
      /** "Try again": the same task (settings, seed, references) goes back into the queue, followed live. */
      async retry(taskId) {
        const res = await api("POST", "task/" + encodeURIComponent(taskId) + "/retry");
        if (!res.ok) { toast(res.data.message); return; }
        toast(gettext("Started: it is in the queue."));
        this.recent = this.recent.filter((t) => t.task_id !== taskId);
        if (this.everyone) { await this.load(); return; }
        this.streamed(res.data);
        this.live().watch(taskId);
      },
    };
  }

  /** The share links page: each link with its state and views, copy and revoke. The account page uses it
   * too (templates/pages/_share_list.html), with data-live-only (the working links, and those revoked
   * there) and data-limit (the newest few) on its element. */
  function shares() {
    return {
      links: [],
      loaded: false,
      liveOnly: false,
      limit: 0,
      liveTotal: 0,
      revokedHere: [],
      initialCount: "",
      async init() {
        this.liveOnly = this.$el.dataset.liveOnly === "true";
        this.limit = Number(this.$el.dataset.limit) || 0;
        const count = this.$el.querySelector("[data-live-count]");
        this.initialCount = count ? count.textContent : "";
        await this.load();
      },
      async load() {
        const res = await api("GET", "shares");
        if (!res.ok) { toast(res.data.message); return; }
        const kinds = { image: gettext("an image"), task: gettext("a generation"), board: gettext("a board") };
        this.liveTotal = res.data.filter((l) => l.live).length;
        let links = res.data;
        if (this.liveOnly) links = links.filter((l) => l.live || this.revokedHere.includes(l.share_id));
        if (this.limit) links = links.slice(0, this.limit);
        this.links = links.map((l) => ({
          ...l,
          fullUrl: window.location.origin + l.url,
          stateLabel: l.revoked_at ? gettext("Revoked") : (l.live ? gettext("Live") : gettext("Expired")),
          whatLabel: (kinds[l.kind] || l.kind) + (l.show_prompt ? "" : " · " + gettext("prompt hidden"))
            + (l.expires_at ? " · " + fmt(gettext("until %(date)s"), { date: localDate(l.expires_at) }) : ""),
          viewsLabel: fmt(ngettext("%(n)s view", "%(n)s views", l.views), { n: l.views }),
        }));
        this.loaded = true;
      },
      get noLinks() { return this.loaded && this.links.length === 0; },
      // How many work now, kept right after a revoke (the page's own figure until the list is read).
      get liveCountLabel() {
        return this.loaded ? fmt(ngettext("%(n)s working", "%(n)s working", this.liveTotal), { n: this.liveTotal }) : this.initialCount;
      },
      async copy(link) {
        try { await navigator.clipboard.writeText(link.fullUrl); toast(gettext("Link copied.")); }
        catch (e) { toast(gettext("Copying is not allowed here; select the text instead.")); }
      },
      async revoke(shareId) {
        const res = await api("DELETE", "shares/" + shareId);
        if (!res.ok) { toast(res.data.message); return; }
        toast(gettext("Revoked: the link no longer works."));
        this.revokedHere.push(shareId);
        await this.load();
      },
    };
  }

  /** The status line at the bottom (role=status: screen readers announce it). A message with an action (Undo)
   * stays 10 s instead of 4, and as long as the pointer or the keyboard focus is on it. */
  function toaster() {
    return {
      visible: false,
      message: "",
      actionLabel: "",
      run: null,
      timer: null,
      held: false,
      show(event) {
        const detail = event.detail;
        if (!detail) return;
        const withAction = typeof detail === "object";
        this.message = withAction ? detail.message : detail;
        this.actionLabel = withAction ? detail.action : "";
        this.run = withAction ? detail.run : null;
        this.visible = true;
        this.later(withAction ? 10000 : 4000);
      },
      later(ms) {
        window.clearTimeout(this.timer);
        this.timer = window.setTimeout(() => { if (!this.held) this.hide(); }, ms);
      },
      hide() { this.visible = false; this.run = null; },
      get hasAction() { return !!this.run; },
      hold() { this.held = true; },
      release() { this.held = false; if (this.visible) this.later(4000); },
      async act() {
        const run = this.run;
        this.hide();
        this.held = false;
        if (run) await run();
      },
    };
  }

  /** The trash: what was deleted (tasks with their thumbnails, and single images), each with Restore and
   * Delete forever, and Empty trash; both of those ask first. */
  function trash() {
    return mix(pagedList("trash"), {
      config: pageConfig(),
      entries: [],
      pending: null,
      async init() {
        await this.loadMore();
        this.startScrolling();
      },
      received(rows) { for (const row of rows) this.entries.push(this.decorate(row)); },
      decorate(entry) {
        return {
          ...entry,
          images: entry.images.map((img) => {
            const [tw, th] = thumbSize(img.width, img.height);
            return { ...img, thumbWidth: tw, thumbHeight: th, label: entry.prompt };
          }),
          kindLabel: entry.kind === "task" ? gettext("Generation") : gettext("Image"),
          modelLabel: modelName(entry.model),
          deletedLabel: fmt(gettext("Deleted %(date)s"), { date: localDate(entry.deleted_at) }),
          purgeLabel: entry.purge_at ? fmt(gettext("deleted for good on %(date)s"), { date: localDate(entry.purge_at) }) : "",
          restoreLabel: fmt(gettext("Restore: %(prompt)s"), { prompt: entry.prompt.slice(0, 60) }),
          forgetLabel: fmt(gettext("Delete forever: %(prompt)s"), { prompt: entry.prompt.slice(0, 60) }),
        };
      },
      clearItems() { this.entries = []; },
      get isEmpty() { return !this.loading && this.entries.length === 0; },
      get hasEntries() { return this.entries.length > 0; },
      get keepsLabel() {
        const days = this.config.trashDays;
        return days ? fmt(ngettext("Deleted items stay here %(n)s day, then they are deleted for good.",
          "Deleted items stay here %(n)s days, then they are deleted for good.", days), { n: days })
          : gettext("Deleted items stay here until you empty the trash.");
      },
      get confirmTitle() { return this.pending && this.pending.all ? gettext("Empty the trash?") : gettext("Delete this forever?"); },
      async restore(itemId) {
        const res = await api("POST", "trash/" + encodeURIComponent(itemId) + "/restore");
        if (!res.ok) { toast(res.data.message); return; }
        this.entries = this.entries.filter((e) => e.item_id !== itemId);
        toast(res.data.kind === "task" ? gettext("Generation restored to the history and the gallery.") : gettext("Image restored to the gallery."));
      },
      ask(itemId) {
        this.pending = itemId ? { itemId } : { all: true };
        this.$refs.confirm.showModal();
      },
      async confirmed(event) {
        const choice = event.submitter ? event.submitter.value : "cancel";
        const pending = this.pending;
        this.pending = null;
        if (choice !== "delete" || !pending) return;
        const res = await api("DELETE", pending.all ? "trash" : "trash/" + encodeURIComponent(pending.itemId));
        if (!res.ok) { toast((res.data && res.data.message) || gettext("The request failed.")); return; }
        if (pending.all) {
          this.entries = [];
          this.hasMore = false;
          toast(gettext("The trash is empty."));
        } else {
          this.entries = this.entries.filter((e) => e.item_id !== pending.itemId);
          toast(gettext("Deleted forever."));
        }
      },
    });
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("generator", generator);
    window.Alpine.data("gallery", gallery);
    window.Alpine.data("history", history);
    window.Alpine.data("toaster", toaster);
    window.Alpine.data("queue", queue);
    window.Alpine.data("shares", shares);
    window.Alpine.data("trash", trash);
  });
})();
