'use strict'
// A Koishi app with the mock adapter, an in-memory database (for users' authority and channel
// assignment) and the plugin; clients are users talking in group channels.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { App } = require('koishi')
const mock = require('@koishijs/plugin-mock')
const memory = require('@koishijs/plugin-database-memory')
const fanzha = require('..')

const ROOT = path.resolve(__dirname, '../../..')

/** Temporary directories made by this test file, removed when it exits. */
const made = []
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true })
})

/** A fresh temporary directory for one test. */
function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koishi-fanzha-'))
  made.push(dir)
  return dir
}

async function startApp(config = {}, { users = {}, channels = ['g1'] } = {}) {
  const app = new App()
  app.plugin(mock.default ?? mock)
  app.plugin(memory.default ?? memory)
  const dir = tmpDir()
  const pluginConfig = { dataFile: path.join(dir, 'channels.json'), ...config }
  let fork = app.plugin(fanzha, pluginConfig)
  await app.start()
  for (const [id, authority] of Object.entries(users)) await app.mock.initUser(id, authority)
  for (const id of channels) await app.mock.initChannel(id)

  // Every verdict the plugin reaches, to show a quiet message was seen and scored, not missed.
  const verdicts = []
  app.on('fanzha/verdict', (payload) => verdicts.push(payload))

  return {
    app,
    dir,
    verdicts,
    bot: app.bots[0],
    client: (userId, channelId = 'g1') => app.mock.client(userId, channelId),
    /** Stops the plugin and starts it again with the same config, as a Koishi restart would. */
    async restartPlugin() {
      fork.dispose()
      fork = app.plugin(fanzha, pluginConfig)
      await app.lifecycle.flush()
    },
    stop: () => app.stop(),
  }
}

/** The `fanzha` binary: FANZHA_BIN or target/release/fanzha. */
function fanzhaBin() {
  const bin = process.env.FANZHA_BIN || path.join(ROOT, 'target/release/fanzha')
  if (!fs.existsSync(bin)) {
    throw new Error(`the fanzha binary is missing at ${bin}: build it with ` +
      '`cargo build --release -p fanzha-cli` in the repository root, or set FANZHA_BIN')
  }
  return bin
}

module.exports = { ROOT, startApp, tmpDir, fanzhaBin }
