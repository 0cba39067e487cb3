'use strict'
// Per-channel on/off switches, kept in a small JSON file so they survive restarts without
// requiring a Koishi database: { "<platform>:<channelId>": false, ... }. Channels not in the
// file are on.

const fs = require('node:fs')
const path = require('node:path')

class ChannelSwitches {
  constructor(file) {
    this.file = file
    this.state = {}
    if (fs.existsSync(file)) this.state = JSON.parse(fs.readFileSync(file, 'utf8'))
  }

  isOn(key) {
    return this.state[key] !== false
  }

  set(key, on) {
    if (on) delete this.state[key]
    else this.state[key] = false
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    // Written to a temporary file and renamed, so a crash mid-write cannot lose the others.
    const tmp = `${this.file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n')
    fs.renameSync(tmp, this.file)
  }
}

module.exports = { ChannelSwitches }
