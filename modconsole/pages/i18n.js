// The pages' language: `?lang=`, else the browser's languages, among the six UN languages; English by default.
// Every string a person reads goes through _("English text") (gettext style: the msgid is the English text)
// or _n(singular, plural, n). The catalogue is /i18n/LANG.json, a {msgid: msgstr} object; a plural's msgstr
// is an object keyed by CLDR plural category ({"one": ..., "few": ..., "other": ...}). A missing catalogue
// or msgid falls back to English. {name} placeholders are filled by fmt().

export const LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"];
const RTL = new Set(["ar"]);

let catalogue = {};
let lang = "en";
let plurals = new Intl.PluralRules("en");

export function chooseLanguage(search = location.search, preferred = navigator.languages || []) {
  const asked = new URLSearchParams(search).get("lang");
  const candidates = asked ? [asked] : [...preferred];
  for (const tag of candidates) {
    const base = String(tag).toLowerCase().split(/[-_]/)[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export async function loadLanguage(chosen) {
  lang = LANGUAGES.includes(chosen) ? chosen : "en";
  const root = document.documentElement;
  root.lang = lang;
  root.dir = RTL.has(lang) ? "rtl" : "ltr"; // set before the catalogue arrives, so the layout is right at once
  plurals = new Intl.PluralRules(lang);
  catalogue = {};
  if (lang !== "en") {
    try {
      const answer = await fetch(`/i18n/${lang}.json`, { cache: "no-cache" });
      if (answer.ok) {
        const data = await answer.json();
        if (data && typeof data === "object" && !Array.isArray(data)) catalogue = data;
      }
    } catch (_error) {
      catalogue = {}; // no catalogue yet, or unreachable: English
    }
  }
  translateDocument();
  return lang;
}

export function currentLanguage() {
  return lang;
}

export function _(msgid) {
  const found = catalogue[msgid];
  return typeof found === "string" && found ? found : msgid;
}

export function _n(singular, plural, n) {
  const found = catalogue[singular];
  if (found && typeof found === "object") {
    const form = found[plurals.select(n)] ?? found.other;
    if (typeof form === "string" && form) return form;
  }
  return n === 1 ? singular : plural;
}

export function fmt(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

// Elements marked data-i18n hold their English text in the HTML: it is replaced by its translation.
export function translateDocument(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    if (!element.dataset.msgid) element.dataset.msgid = element.textContent.trim();
    element.textContent = _(element.dataset.msgid);
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", _(element.dataset.i18nLabel));
  }
  for (const element of root.querySelectorAll("[data-i18n-placeholder]")) {
    element.setAttribute("placeholder", _(element.dataset.i18nPlaceholder));
  }
  const title = document.querySelector("title");
  if (title && title.dataset.msgid) document.title = _(title.dataset.msgid);
}
