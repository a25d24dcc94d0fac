// A tiny stand-in for x.com's web app: it calls GraphQL the way the real app does
// (query id in the path, variables as JSON, x-csrf-token from the ct0 cookie),
// renders article[data-testid="tweet"], and asks for the next page on scroll.
(function () {
  "use strict";
  const cfg = window.FAKEX;
  const timeline = document.getElementById("timeline");
  const status = document.getElementById("status");
  const product = { live: "Latest", top: "Top", media: "Media" }[cfg.f] || "Latest";
  let cursor = null;
  let loading = false;
  let userId = null;
  let op = null;

  function csrf() {
    const hit = document.cookie.split("; ").find((c) => c.startsWith("ct0="));
    return hit ? decodeURIComponent(hit.slice(4)) : "";
  }

  async function gql(name, variables) {
    const url = `${cfg.api}/${cfg.qid[name]}/${name}?variables=` +
      encodeURIComponent(JSON.stringify(variables)) + "&features=" + encodeURIComponent("{}");
    const response = await fetch(url, {
      credentials: "include",
      headers: { "x-csrf-token": csrf(), "authorization": "Bearer fake", "x-twitter-active-user": "yes" },
    });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status === 401) { location.href = "/i/flow/login"; }
    return { status: response.status, body };
  }

  function instructionsOf(body) {
    const d = body && body.data;
    if (!d) return [];
    if (d.search_by_raw_query) return d.search_by_raw_query.search_timeline.timeline.instructions;
    const u = d.user && d.user.result;
    const t = u && (u.timeline || u.timeline_v2);
    return t ? t.timeline.instructions : [];
  }

  function render(result) {
    if (!result) return;
    const t = result.__typename === "TweetWithVisibilityResults" ? result.tweet : result;
    if (!t || !t.rest_id) return;
    const legacy = t.legacy || {};
    const article = document.createElement("article");
    article.setAttribute("data-testid", "tweet");
    article.dataset.id = t.rest_id;
    const text = document.createElement("div");
    text.setAttribute("data-testid", "tweetText");
    text.textContent = legacy.full_text || "";
    article.appendChild(text);
    const media = (legacy.extended_entities || {}).media || [];
    for (const m of media) {
      const img = document.createElement("img");
      img.src = m.media_url_https;
      article.appendChild(img);
    }
    timeline.appendChild(article);
  }

  function apply(instructions) {
    let bottom = null;
    for (const ins of instructions) {
      const entries = ins.entries || ins.moduleItems || (ins.entry ? [ins.entry] : []);
      for (const e of entries) {
        const c = e.content || {};
        if (c.cursorType === "Bottom") { bottom = c.value; continue; }
        if (e.entryId.startsWith("promoted-")) continue;
        if (c.itemContent) render(c.itemContent.tweet_results.result);
        for (const it of c.items || []) render(it.item.itemContent.tweet_results.result);
        if (e.item) render(e.item.itemContent.tweet_results.result);
      }
    }
    return bottom;
  }

  async function loadMore() {
    if (loading || !op) return;
    loading = true;
    const variables = op === "SearchTimeline"
      ? { rawQuery: cfg.q, count: 20, querySource: "typed_query", product }
      : { userId, count: 20, includePromotedContent: true, withVoice: true };
    if (cursor) variables.cursor = cursor;
    const { status: code, body } = await gql(op, variables);
    if (code !== 200 || !body) {
      status.innerHTML = 'Something went wrong. Try reloading. <button role="button">Retry</button>';
      loading = false;
      return;
    }
    const bottom = apply(instructionsOf(body));
    if (bottom) cursor = bottom; else status.textContent = "You're all caught up";
    loading = false;
    if (cfg.eager && bottom) loadMore();  // like x.com when a page does not fill the window
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 400;
  }
  window.addEventListener("scroll", () => { if (nearBottom()) loadMore(); });
  window.addEventListener("wheel", () => { if (nearBottom()) loadMore(); });

  async function profile(handle) {
    const { status: code, body } = await gql("UserByScreenName", { screen_name: handle });
    const result = body && body.data && body.data.user && body.data.user.result;
    if (code !== 200) { status.textContent = "Something went wrong."; return; }
    if (!result) { status.textContent = "This account doesn't exist"; return; }
    if (result.__typename === "UserUnavailable") { status.textContent = "Account suspended"; return; }
    const isProtected = (result.privacy || {}).protected || (result.legacy || {}).protected;
    if (isProtected) { status.textContent = "These posts are protected"; return; }
    userId = result.rest_id;
    op = "UserTweets";
    loadMore();
  }

  const path = cfg.path;
  if (path === "/search") { op = "SearchTimeline"; loadMore(); }
  else if (path === "/home") { status.textContent = "Home"; }
  else { profile(path.slice(1)); }

  const account = document.createElement("div");
  account.setAttribute("data-testid", "SideNav_AccountSwitcher_Button");
  document.body.prepend(account);
})();
