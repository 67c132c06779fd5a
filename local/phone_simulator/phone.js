// The local phone simulator: plays the telephony provider (follows TwiML) and the caller (keys, words).
// Every webhook goes through this page's server side (./webhook), which signs it with the stack's token.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const LINES = {
    keypad: { to: '+380670001357', from: '+380671231357', name: 'кнопкову лінію' },
    voice: { to: '+380536700351', from: '+380536223351', name: 'голосову лінію' },
  };
  const SECONDS_PER_WORD = 0.4; // a slow Ukrainian voice, for the provider's timeout to start after it
  let call = null; // {sid, line, from, ended, gather, rest, typed, timer, tick}
  let ukVoice = null;

  // ---- what is shown -------------------------------------------------------------------------------

  function log(kind, text) {
    const item = document.createElement('li');
    item.className = `log__item log__item--${kind}`;
    const who = document.createElement('span');
    who.className = 'log__who';
    who.textContent = { robot: 'Робот', caller: 'Абонент', system: 'Провайдер' }[kind];
    const words = document.createElement('span');
    words.className = 'log__text';
    words.textContent = text;
    item.append(who, words);
    $('log').append(item);
    item.scrollIntoView({ block: 'nearest' });
  }

  function status(text) {
    $('status').textContent = text;
  }

  function listening(gather) {
    const keys = gather !== null && gather.input.includes('dtmf');
    const speech = gather !== null && gather.input.includes('speech');
    for (const key of document.querySelectorAll('.key')) key.disabled = !keys;
    $('speech').disabled = !speech;
    $('say').disabled = !speech;
    $('silence').disabled = gather === null;
    if (gather === null) return;
    const what = [];
    if (keys) what.push(gather.numDigits ? 'одну кнопку' : `цифри і ${gather.finishOnKey || '#'}`);
    if (speech) what.push('слова');
    status(`Робот слухає: ${what.join(' або ')}.`);
  }

  function showTyped() {
    $('typed').value = call && call.typed ? call.typed : '';
  }

  // ---- the browser's voice -------------------------------------------------------------------------

  function findVoice() {
    if (!('speechSynthesis' in window)) {
      $('voice-note').textContent = 'Цей браузер не вміє говорити: слова робота лише показано.';
      $('speak').disabled = true;
      return;
    }
    ukVoice = speechSynthesis.getVoices().find((v) => (v.lang || '').toLowerCase().startsWith('uk')) || null;
    $('speak').disabled = ukVoice === null;
    $('speak').checked = ukVoice !== null;
    $('voice-note').textContent = ukVoice
      ? `Голос: ${ukVoice.name}.`
      : 'У браузера немає українського голосу: слова робота лише показано.';
  }

  function speak(text) {
    if (!ukVoice || !$('speak').checked) {
      return new Promise((done) => setTimeout(done, text.split(/\s+/).length * SECONDS_PER_WORD * 1000));
    }
    return new Promise((done) => {
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = ukVoice;
      utterance.lang = ukVoice.lang;
      utterance.rate = 0.9;
      utterance.onend = done;
      utterance.onerror = done;
      speechSynthesis.speak(utterance);
    });
  }

  function hush() {
    if ('speechSynthesis' in window) speechSynthesis.cancel();
  }

  // ---- TwiML, as the provider follows it -----------------------------------------------------------

  function spoken(element) {
    // A <Say>'s words; its SSML <break/>s are pauses, read as spaces.
    const parts = [];
    const walk = (node) => {
      for (const child of node.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) parts.push(child.nodeValue);
        else if (child.nodeName === 'break') parts.push(' ');
        else walk(child);
      }
    };
    walk(element);
    return parts.join('').replace(/\s+/g, ' ').trim();
  }

  async function follow(twiml) {
    const doc = new DOMParser().parseFromString(twiml, 'application/xml');
    if (doc.querySelector('parsererror') || doc.documentElement.nodeName !== 'Response') {
      throw new Error('лінія відповіла не TwiML');
    }
    await run(Array.from(doc.documentElement.children));
  }

  async function run(verbs) {
    const current = call;
    for (let i = 0; i < verbs.length; i += 1) {
      if (call !== current || current.ended) return;
      const verb = verbs[i];
      switch (verb.nodeName) {
        case 'Say': {
          const text = spoken(verb);
          log('robot', text);
          await speak(text);
          break;
        }
        case 'Pause':
          await new Promise((done) => setTimeout(done, Number(verb.getAttribute('length') || 1) * 1000));
          break;
        case 'Gather':
          await gather(verb, verbs.slice(i + 1));
          return;
        case 'Redirect':
          await webhook(verb.textContent.trim(), {});
          return;
        case 'Hangup':
          end('Робот поклав слухавку.');
          return;
        default:
          log('system', `Невідома дія TwiML: ${verb.nodeName}`);
      }
    }
    end('Розмову завершено.');
  }

  async function gather(verb, rest) {
    const current = call;
    current.gather = {
      action: verb.getAttribute('action'),
      input: verb.getAttribute('input') || 'dtmf',
      numDigits: Number(verb.getAttribute('numDigits') || 0),
      finishOnKey: verb.getAttribute('finishOnKey') ?? '#',
      timeout: Number(verb.getAttribute('timeout') || 5),
      rest,
    };
    current.typed = '';
    showTyped();
    listening(current.gather);
    // The prompt plays inside the Gather; the caller may press keys meanwhile (that stops it).
    const texts = Array.from(verb.getElementsByTagName('Say')).map(spoken);
    for (const text of texts) log('robot', text);
    current.speaking = true;
    await speak(texts.join(' '));
    current.speaking = false;
    if (call === current && current.gather && !current.typed) arm(current.gather.timeout);
  }

  function arm(seconds) {
    // The provider's timeout: no (more) input for this long ends the Gather.
    disarm();
    let left = seconds;
    call.tick = setInterval(() => {
      left -= 1;
      if (left > 0 && call && call.gather) status(`Робот слухає… тиша через ${left} с.`);
    }, 1000);
    call.timer = setTimeout(timedOut, seconds * 1000);
  }

  function disarm() {
    if (!call) return;
    clearTimeout(call.timer);
    clearInterval(call.tick);
  }

  function timedOut() {
    if (!call || !call.gather) return;
    if (call.typed) submitKeys(call.typed, '');
    else silence();
  }

  // ---- the caller ----------------------------------------------------------------------------------

  function press(key) {
    if (!call || !call.gather || !call.gather.input.includes('dtmf')) return;
    hush();
    const g = call.gather;
    if (g.numDigits && call.typed.length + 1 >= g.numDigits) {
      submitKeys(call.typed + key, '');
      return;
    }
    if (key === g.finishOnKey) {
      if (call.typed) submitKeys(call.typed, key);
      else silence();
      return;
    }
    call.typed += key;
    showTyped();
    arm(g.timeout);
  }

  function submitKeys(digits, finishedOnKey) {
    const action = call.gather.action;
    log('caller', `Натиснуто: ${digits}${finishedOnKey}`);
    answered();
    webhook(action, { Digits: digits, FinishedOnKey: finishedOnKey, msg: 'Gather End' });
  }

  function sayWords(text) {
    if (!call || !call.gather || !call.gather.input.includes('speech') || !text.trim()) return;
    hush();
    const action = call.gather.action;
    log('caller', `«${text.trim()}»`);
    answered();
    webhook(action, { SpeechResult: text.trim(), Confidence: '0.9' });
  }

  function silence() {
    if (!call || !call.gather) return;
    hush();
    const rest = call.gather.rest;
    log('caller', '(мовчання)');
    answered();
    run(rest).catch(failed);
  }

  function answered() {
    disarm();
    call.gather = null;
    call.typed = '';
    showTyped();
    listening(null);
    status('Робот відповідає…');
  }

  // ---- the provider's requests ---------------------------------------------------------------------

  function randomSid() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return `CA${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  function form(extra) {
    const to = LINES[call.line].to;
    return {
      AccountSid: `AC${'0'.repeat(32)}`,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: 'in-progress',
      Called: to,
      Caller: call.from,
      Direction: 'inbound',
      From: call.from,
      FromCountry: 'UA',
      To: to,
      ToCountry: 'UA',
      ...extra,
    };
  }

  async function webhook(url, extra) {
    const current = call;
    try {
      const response = await fetch('webhook', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url, form: form(extra) }),
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
      if (answer.status !== 200) throw new Error(`лінія відповіла ${answer.status}`);
      if (call !== current || current.ended) return;
      await follow(answer.twiml);
    } catch (error) {
      failed(error);
    }
  }

  function failed(error) {
    log('system', `Помилка: ${error.message}`);
    end('Дзвінок обірвався.');
  }

  function end(why) {
    if (!call) return;
    disarm();
    hush();
    call.ended = true;
    call.gather = null;
    listening(null);
    status(why);
    $('dial').disabled = false;
    $('hangup').disabled = true;
    $('setup').disabled = false;
  }

  function dial() {
    const line = document.querySelector('input[name="line"]:checked').value;
    call = { sid: randomSid(), line, from: $('caller').value.trim(), ended: false, gather: null, typed: '' };
    $('log').replaceChildren();
    $('dial').disabled = true;
    $('hangup').disabled = false;
    $('setup').disabled = true;
    log('system', `Дзвінок на ${LINES[line].name} з номера ${call.from}.`);
    status('Дзвонимо…');
    webhook(`/ivr/${line}`, { CallStatus: 'ringing' });
  }

  // ---- wiring --------------------------------------------------------------------------------------

  for (const radio of document.querySelectorAll('input[name="line"]')) {
    radio.addEventListener('change', () => {
      $('caller').value = LINES[radio.value].from;
    });
  }
  $('dial').addEventListener('click', dial);
  $('hangup').addEventListener('click', () => {
    if (call && !call.ended) log('caller', '(поклав слухавку)');
    end('Ви поклали слухавку.');
  });
  for (const key of document.querySelectorAll('.key')) {
    key.addEventListener('click', () => press(key.dataset.key));
  }
  document.addEventListener('keydown', (event) => {
    if (event.target instanceof HTMLInputElement) return;
    if (/^[0-9*#]$/.test(event.key)) press(event.key);
  });
  $('speech-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sayWords($('speech').value);
    $('speech').value = '';
  });
  $('silence').addEventListener('click', silence);
  listening(null);
  findVoice();
  if ('speechSynthesis' in window) speechSynthesis.addEventListener('voiceschanged', findVoice);
})();
