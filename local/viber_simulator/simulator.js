// The chat simulator: plays the Viber app. Callbacks go to ./callback (signed there, posted to the real
// webhook); the bot's messages are read back from the fake Viber API's record (./sent?receiver=...).
"use strict";

const chat = document.getElementById("chat");
const keyboard = document.getElementById("keyboard");
const composer = document.getElementById("composer");
const input = document.getElementById("text");
const sendButton = document.getElementById("send");
const statusLine = document.getElementById("status");

const state = { userId: "", tracking: null, seen: 0, busy: false };

function randomUserId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "sim" + btoa(String.fromCharCode(...bytes)).replace(/=+$/, "") + "==";
}

function messageToken() {
  // Viber's tokens are 64-bit numbers; these stay within what JSON numbers carry exactly.
  return Math.floor(Math.random() * 9e15) + 1e15;
}

function plainText(markup) {
  // Button texts carry a little HTML (<font color>); show its text only, never as markup.
  const doc = new DOMParser().parseFromString(String(markup || ""), "text/html");
  return doc.body.textContent || "";
}

function fontColour(markup) {
  const match = /color\s*=\s*["']?(#[0-9a-fA-F]{3,8})/.exec(String(markup || ""));
  return match ? match[1] : "#212121";
}

function bubble(text, who) {
  const item = document.createElement("li");
  item.className = `bubble bubble--${who}`;
  item.textContent = text;
  chat.appendChild(item);
  chat.scrollTop = chat.scrollHeight;
}

function showKeyboard(spec) {
  keyboard.replaceChildren();
  for (const b of (spec && spec.Buttons) || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = plainText(b.Text);
    button.style.background = b.BgColor || "#ffffff";
    button.style.color = fontColour(b.Text);
    button.style.gridColumn = `span ${b.Columns || 6}`;
    button.style.gridRow = `span ${b.Rows || 1}`;
    button.dataset.action = b.ActionBody || "";
    button.addEventListener("click", () => send(b.ActionBody || ""));
    keyboard.appendChild(button);
  }
}

function showBotMessage(message) {
  if (message.text) bubble(message.text, "bot");
  if (message.tracking_data) state.tracking = message.tracking_data;
  if (message.keyboard) showKeyboard(message.keyboard);
  // A taller keyboard shrinks the chat: keep its newest message in view.
  chat.scrollTop = chat.scrollHeight;
}

async function postCallback(payload) {
  const response = await fetch("callback", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const answer = await response.json();
  if (answer.status !== 200) {
    statusLine.textContent = `Вебхук відповів ${answer.status}`;
  } else {
    statusLine.textContent = "";
  }
  return answer;
}

async function readSentNow() {
  const response = await fetch(`sent?receiver=${encodeURIComponent(state.userId)}`);
  const sent = await response.json();
  for (const message of sent.slice(state.seen)) showBotMessage(message);
  state.seen = sent.length;
}

// One read at a time (an answer's read and the poll below must not show a message twice).
let reading = Promise.resolve();
function readSent() {
  reading = reading.then(readSentNow, readSentNow);
  return reading;
}

// Messages the bot starts (reminders before a window closes) arrive without a callback: look every
// few seconds, as the Viber app shows a pushed message.
setInterval(() => {
  if (state.userId && !state.busy) readSent().catch(() => {});
}, 3000);

function user() {
  return { id: state.userId, name: "Гість симулятора", language: "uk", country: "UA", api_version: 10 };
}

function setBusy(busy) {
  state.busy = busy;
  for (const element of [input, sendButton, ...keyboard.querySelectorAll("button")]) element.disabled = busy;
}

async function start(context) {
  if (state.busy) return;
  setBusy(true);
  try {
    const payload = {
      event: "conversation_started",
      timestamp: Date.now(),
      message_token: messageToken(),
      type: "open",
      user: user(),
      subscribed: false,
    };
    if (context) payload.context = context;
    const answer = await postCallback(payload);
    if (answer.status === 200 && answer.body && answer.body.text) showBotMessage(answer.body);
  } catch (error) {
    statusLine.textContent = `Помилка: ${error}`;
  } finally {
    setBusy(false);
    input.focus();
  }
}

async function send(text) {
  if (state.busy || !text.trim()) return;
  bubble(text, "me");
  setBusy(true);
  try {
    await postCallback({
      event: "message",
      timestamp: Date.now(),
      message_token: messageToken(),
      chat_hostname: "SN-LOCAL",
      sender: user(),
      message: { type: "text", text, tracking_data: state.tracking },
      silent: false,
    });
    await readSent();
  } catch (error) {
    statusLine.textContent = `Помилка: ${error}`;
  } finally {
    setBusy(false);
    input.focus();
  }
}

function reset() {
  state.userId = randomUserId();
  state.tracking = null;
  state.seen = 0;
  chat.replaceChildren();
  keyboard.replaceChildren();
  bubble("Новий користувач Viber. Відскануйте QR-код або відкрийте чат.", "system");
}

document.getElementById("scan").addEventListener("click", async () => {
  const response = await fetch("demo");
  const demo = await response.json();
  if (!response.ok) {
    statusLine.textContent = demo.message || "Не вдалося отримати демо QR-код";
    return;
  }
  bubble(`QR-код рахунку ${demo.account} відскановано`, "system");
  await start(demo.context);
});
document.getElementById("open").addEventListener("click", () => start(null));
document.getElementById("reset").addEventListener("click", reset);
composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value;
  input.value = "";
  send(text);
});

reset();
setBusy(false);
