// The storefront: pick a user, see what Personalize recommends, open a product, buy it.
// Views are routed by the URL's hash: #/, #/product/ID?from=RECOMMENDATION_ID, #/category/NAME.

import { mutate, query } from "./graphql.js";
import { CATEGORY_RANKING, CATEGORY_SHELF, FOR_YOU, PRODUCT, RECORD_EVENTS } from "./queries.js";

const USERS = ["u-00001", "u-00002", "u-00003", "u-00004", "u-00005", "u-00006"];
const sessionId = `s-${crypto.randomUUID()}`;
const view = document.getElementById("view");
const userSelect = document.getElementById("user");
const categoryNav = document.getElementById("categories");
const categories = new Set();

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function price(value) {
  return value == null ? "" : `$${value.toFixed(2)}`;
}

function currentUser() {
  return userSelect.value;
}

function errorsOf(answer) {
  return (answer.errors || []).map((error) => error.message).join("; ");
}

function card(entry, recommendationId) {
  const item = entry.item || { id: entry.itemId, title: entry.itemId };
  const from = recommendationId ? `?from=${encodeURIComponent(recommendationId)}` : "";
  const link = element("a", { class: "card", href: `#/product/${item.id}${from}`, "data-item-id": item.id });
  link.append(
    element("img", { src: item.imageUrl || "", alt: item.title || item.id, width: "160", height: "160" }),
    element("span", { class: "title" }, item.title || item.id),
    element("span", { class: "price" }, price(item.price)),
  );
  if (item.category) categories.add(item.category);
  return link;
}

function section(title, list, testId) {
  const heading = element("h2", {}, title);
  if (list.source === "FALLBACK") {
    heading.append(element("span", { class: "badge", title: "Personalize could not answer: a stand-in did" }, "fallback"));
  }
  const grid = element("div", { class: "grid", "data-testid": testId });
  grid.append(...list.items.map((entry) => card(entry, list.recommendationId)));
  return element("section", {}, heading, grid);
}

function showCategories() {
  categoryNav.replaceChildren(
    ...[...categories].sort().map((name) => element("a", { href: `#/category/${encodeURIComponent(name)}` }, name)),
  );
}

async function recordEvent(eventType, itemId, recommendationId) {
  const event = { eventType, itemId };
  if (recommendationId) event.recommendationId = recommendationId;
  const answer = await mutate(RECORD_EVENTS, {
    input: { sessionId, userId: currentUser(), events: [event] },
  });
  if (answer.errors) console.warn("recordEvents:", errorsOf(answer));
  return answer;
}

async function home() {
  const answer = await query(FOR_YOU, { userId: currentUser() });
  if (!answer.data) throw new Error(errorsOf(answer));
  view.replaceChildren(section("Recommended for you", answer.data.recommendations, "for-you"));
  showCategories();
}

async function product(itemId, recommendationId) {
  const [answer] = await Promise.all([
    query(PRODUCT, { itemId, userId: currentUser() }),
    recordEvent("view", itemId, recommendationId),
  ]);
  if (!answer.data) throw new Error(errorsOf(answer));
  const item = answer.data.item || { id: itemId, title: itemId };
  const buy = element("button", { type: "button", class: "buy", "data-testid": "buy" }, "Buy");
  buy.addEventListener("click", async () => {
    buy.disabled = true;
    await recordEvent("purchase", itemId, recommendationId);
    window.location.hash = "#/";
  });
  const details = element(
    "article",
    { class: "product", "data-testid": "product", "data-item-id": item.id },
    element("img", { src: item.imageUrl || "", alt: item.title || item.id, width: "320", height: "320" }),
    element(
      "div",
      {},
      element("h1", {}, item.title || item.id),
      element("p", { class: "price" }, price(item.price)),
      element("p", {}, item.description || ""),
      item.category ? element("p", {}, "In ", element("a", { href: `#/category/${encodeURIComponent(item.category)}` }, item.category)) : "",
      buy,
    ),
  );
  view.replaceChildren(details, section("Customers also viewed", answer.data.relatedItems, "related"));
  showCategories();
}

async function category(name) {
  // The app's own list of the category's items (here: its shelf of popular items), ordered
  // for this user by Personalize's ranking.
  const shelf = await query(CATEGORY_SHELF, { category: name });
  if (!shelf.data) throw new Error(errorsOf(shelf));
  const ids = shelf.data.recommendations.items.map((entry) => entry.itemId);
  const ranked = await query(CATEGORY_RANKING, { userId: currentUser(), items: ids });
  if (!ranked.data) throw new Error(errorsOf(ranked));
  view.replaceChildren(section(`${name}, in the order you would like them`, ranked.data.ranking, "category"));
  showCategories();
}

async function route() {
  const [path, search] = window.location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  document.body.dataset.ready = "false";
  try {
    if (parts[0] === "product" && parts[1]) {
      await product(parts[1], new URLSearchParams(search || "").get("from"));
    } else if (parts[0] === "category" && parts[1]) {
      await category(parts[1]);
    } else {
      await home();
    }
  } catch (error) {
    view.replaceChildren(element("p", { class: "error" }, `The gateway could not answer: ${error.message}`));
  }
  document.body.dataset.ready = "true";
}

userSelect.append(...USERS.map((id) => element("option", { value: id }, id)));
userSelect.addEventListener("change", route);
window.addEventListener("hashchange", route);
route();
