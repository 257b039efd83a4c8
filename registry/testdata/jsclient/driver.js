// driver.js runs eureka-js-client instances against a registry for
// registry/interop_js_test.go.
//
//   node driver.js <eurekaURL> [intervalMs]
//
// eurekaURL is the service URL, e.g. http://127.0.0.1:41234/eureka.
// intervalMs (default 200) is every client's heartbeat and registry fetch
// interval.
//
// The test talks to the driver in JSON lines. On stdin, commands:
//
//   {"seq":1,"cmd":"start","client":"alpha-1","instance":{...}}   new client, start() it
//   {"seq":2,"cmd":"lookup","client":"alpha-1","app":"alpha","vip":"Alpha.Service"}
//   {"seq":3,"cmd":"stop","client":"alpha-1"}                     stop(): cancel and stop timers
//
// On stdout, one reply per command, {"seq":N,"ok":true,...} or
// {"seq":N,"error":"..."}, and the clients' events as they happen:
// {"event":"registered|heartbeat|deregistered|registryUpdated","client":"alpha-1"}.
// Client logs go to stderr. The driver exits when stdin closes.
'use strict';

const readline = require('readline');
const util = require('util');
const { Eureka } = require('eureka-js-client');

const [eurekaURL, intervalArg] = process.argv.slice(2);
if (!eurekaURL) {
  process.stderr.write('usage: node driver.js <eurekaURL> [intervalMs]\n');
  process.exit(2);
}
const interval = Number(intervalArg || 200);
const server = new URL(eurekaURL);

const clients = new Map();

function send(msg) {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

// logger sends a client's log lines to stderr, tagged with its name. It
// drops the warning getInstancesBy* log on an empty answer: the test polls.
function logger(name) {
  const line = (level) => (...args) => {
    const text = util.format(...args);
    if (level === 'warn' && text.startsWith('Unable to retrieve')) return;
    process.stderr.write(`[${name}] ${level}: ${text}\n`);
  };
  return { debug() {}, info: line('info'), warn: line('warn'), error: line('error') };
}

// summary is what the test checks of an instance the client sees.
function summary(inst) {
  return {
    instanceId: inst.instanceId,
    hostName: inst.hostName,
    app: inst.app,
    status: inst.status,
    port: inst.port ? inst.port.$ : null,
    vipAddress: inst.vipAddress,
  };
}

const commands = {
  start(msg, reply) {
    if (clients.has(msg.client)) {
      return reply({ error: `client ${msg.client} already started` });
    }
    const client = new Eureka({
      logger: logger(msg.client),
      shouldUseDelta: true,
      instance: msg.instance,
      eureka: {
        host: server.hostname,
        port: Number(server.port),
        servicePath: server.pathname.replace(/\/$/, '') + '/apps/',
        heartbeatInterval: interval,
        registryFetchInterval: interval,
        // Report every instance with its status instead of only UP ones,
        // so the test sees status overrides.
        filterUpInstances: false,
        maxRetries: 0,
      },
    });
    for (const event of ['registered', 'heartbeat', 'deregistered', 'registryUpdated']) {
      client.on(event, () => send({ event, client: msg.client }));
    }
    clients.set(msg.client, client);
    client.start((err) => reply(err ? { error: String(err) } : { ok: true }));
  },

  lookup(msg, reply) {
    const client = clients.get(msg.client);
    if (!client) {
      return reply({ error: `no client ${msg.client}` });
    }
    const out = { ok: true };
    if (msg.app) out.byApp = client.getInstancesByAppId(msg.app).map(summary);
    if (msg.vip) out.byVip = client.getInstancesByVipAddress(msg.vip).map(summary);
    reply(out);
  },

  stop(msg, reply) {
    const client = clients.get(msg.client);
    if (!client) {
      return reply({ error: `no client ${msg.client}` });
    }
    clients.delete(msg.client);
    client.stop((err) => reply(err ? { error: String(err) } : { ok: true }));
  },
};

const input = readline.createInterface({ input: process.stdin, terminal: false });
input.on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    send({ event: 'bad-command', error: String(err) });
    return;
  }
  const reply = (r) => send(Object.assign({ seq: msg.seq }, r));
  const cmd = commands[msg.cmd];
  if (!cmd) {
    reply({ error: `unknown command ${JSON.stringify(msg.cmd)}` });
    return;
  }
  try {
    cmd(msg, reply);
  } catch (err) {
    reply({ error: String(err && err.stack ? err.stack : err) });
  }
});
input.on('close', () => process.exit(0));

process.on('uncaughtException', (err) => {
  process.stderr.write(`uncaught: ${err && err.stack ? err.stack : err}\n`);
  send({ event: 'fatal', error: String(err) });
  process.exit(1);
});
