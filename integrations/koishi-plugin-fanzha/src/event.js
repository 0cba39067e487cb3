'use strict'
// Turns a Koishi session into an event of fanzha's input contract (docs/CONTRACT.md).

const { h } = require('koishi')

// Only what the sender typed is scored: mentions, images, faces and the quoted message (which
// somebody else wrote, and which fanzha has already seen) are left out.
const SKIPPED = new Set(['quote', 'at', 'sharp', 'img', 'image', 'audio', 'video', 'file', 'face'])

function plainText(elements) {
  let text = ''
  for (const el of elements || []) {
    if (typeof el === 'string') text += el
    else if (el.type === 'text') text += el.attrs.content ?? ''
    else if (el.type === 'br' || el.type === 'p') text += '\n' + plainText(el.children)
    else if (!SKIPPED.has(el.type)) text += plainText(el.children)
  }
  return text
}

/** The plain text of a session's message. */
function sessionText(session) {
  const elements = session.elements ?? h.parse(session.content ?? '')
  return plainText(elements).trim()
}

/** The contract event for a group message. */
function sessionEvent(session) {
  return {
    kind: 'message',
    id: session.messageId,
    // Monitors key windows on time; a platform that gives no timestamp gets the arrival time.
    ts: session.timestamp || Date.now(),
    channel: session.platform,
    conversation: session.channelId || session.guildId,
    sender: session.userId,
    text: sessionText(session),
  }
}

module.exports = { plainText, sessionText, sessionEvent }
