/**
 * The Kubernetes examples in config/kubernetes/ are what ops apply as they are, so they are
 * checked here offline: every document against the Kubernetes (and Gateway API) schemas of
 * kubernetes-models, every field name against the models' TypeScript interfaces (the schemas
 * accept unknown fields; `kubectl apply`'s strict field validation does not), the ConfigMap's
 * gateway.yaml with the gateway's own config loader, and the wiring between the objects —
 * ports, probes, selectors, the Secret's keys and the forward-auth filter — against that config.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service, type IConfigMap, type ISecret, type IService, type IContainer, type IProbe } from 'kubernetes-models/v1';
import { Deployment, StatefulSet, type IDeployment, type IStatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { HTTPRoute, type IHTTPRoute, type IHTTPRouteFilter } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { ConfigError, parseConfigText, type LoadedConfig } from '../../src/config/load-config.js';
import { isLoopbackHost } from '../../src/config/config-warnings.js';
import { appendIdentityHeaders, compileHeaderTemplates } from '../../src/proxy/identity-headers.js';
import { questionOf } from '../../src/http/forward-auth-question.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MANIFEST_FILES = ['gatehouse.yaml', 'redis.yaml', 'secret.example.yaml', 'gateway-api.yaml'] as const;

/** One YAML document of one file, as parsed. */
interface Manifest {
  readonly file: string;
  readonly index: number;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly body: Record<string, unknown>;
}

/** How each apiVersion/kind is checked: its model's validate(), and its interface for field names. */
interface ModelEntry {
  readonly validate: (body: unknown) => void;
  /** Module and interface name the body must fit without excess properties. */
  readonly typeModule: string;
  readonly typeName: string;
}

const MODELS: Readonly<Record<string, ModelEntry>> = {
  'v1/ConfigMap': { validate: (b) => new ConfigMap(b as IConfigMap).validate(), typeModule: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Secret': { validate: (b) => new Secret(b as ISecret).validate(), typeModule: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'v1/Service': { validate: (b) => new Service(b as IService).validate(), typeModule: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'apps/v1/Deployment': { validate: (b) => new Deployment(b as IDeployment).validate(), typeModule: 'kubernetes-models/apps/v1/Deployment', typeName: 'IDeployment' },
  'apps/v1/StatefulSet': { validate: (b) => new StatefulSet(b as IStatefulSet).validate(), typeModule: 'kubernetes-models/apps/v1/StatefulSet', typeName: 'IStatefulSet' },
  'policy/v1/PodDisruptionBudget': {
    validate: (b) => new PodDisruptionBudget(b as IPodDisruptionBudget).validate(),
    typeModule: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    typeName: 'IPodDisruptionBudget',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    validate: (b) => new NetworkPolicy(b as INetworkPolicy).validate(),
    typeModule: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    typeName: 'INetworkPolicy',
  },
  'gateway.networking.k8s.io/v1/HTTPRoute': {
    validate: (b) => validateHttpRouteWithExternalAuth(b as IHTTPRoute),
    typeModule: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute',
    typeName: 'IHTTPRoute',
  },
};

/** The documents of one file; what is not a Kubernetes object goes to `problems`. */
function readManifests(file: string, problems: string[]): Manifest[] {
  const text = readFileSync(join(root, 'config/kubernetes', file), 'utf8');
  const manifests: Manifest[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    const where = `${file} document ${index}`;
    if (document.errors.length > 0) {
      problems.push(...document.errors.map((error) => `${where}: ${error.message}`));
      return;
    }
    const body: unknown = document.toJS();
    if (body === null || body === undefined) return; // an empty document: kubectl skips it too
    if (!isRecord(body) || typeof body.apiVersion !== 'string' || typeof body.kind !== 'string') {
      problems.push(`${where}: not an object with apiVersion and kind`);
      return;
    }
    const metadata = body.metadata;
    if (!isRecord(metadata) || typeof metadata.name !== 'string') {
      problems.push(`${where}: no metadata.name`);
      return;
    }
    manifests.push({ file, index, apiVersion: body.apiVersion, kind: body.kind, name: metadata.name, body });
  });
  return manifests;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The ajv errors of a kubernetes-models ValidationError, or undefined for any other error. */
function schemaErrorsOf(error: unknown): { instancePath?: string; keyword?: string }[] | undefined {
  if (!(error instanceof Error)) return undefined;
  const errors: unknown = (error as Error & { errors?: unknown }).errors;
  return Array.isArray(errors) ? errors.filter(isRecord) : undefined;
}

/**
 * kubernetes-models ships the Gateway API's standard channel, whose filter `type` enum lacks
 * `ExternalAuth` (experimental channel only). So the route is validated whole and the one
 * error tolerated is that enum on a filter that says ExternalAuth; its `externalAuth` body is
 * still checked against the schema. The experimental CRD's CEL rule for the filter, which no
 * model carries, is checked by hand.
 */
function validateHttpRouteWithExternalAuth(route: IHTTPRoute): void {
  const filterAt = (path: string): IHTTPRouteFilter | undefined => {
    const at = /^\/spec\/rules\/(\d+)\/filters\/(\d+)\/type$/.exec(path);
    return at ? route.spec?.rules?.[Number(at[1])]?.filters?.[Number(at[2])] : undefined;
  };
  try {
    new HTTPRoute(route).validate();
  } catch (error) {
    const errors = schemaErrorsOf(error);
    if (!errors) throw error;
    const unexpected = errors.filter((e) => !(e.keyword === 'enum' && filterAt(e.instancePath ?? '')?.type === 'ExternalAuth'));
    if (unexpected.length > 0) throw error;
  }
  for (const rule of route.spec?.rules ?? []) {
    for (const filter of rule.filters ?? []) {
      assert.equal(filter.externalAuth !== undefined, filter.type === 'ExternalAuth', 'filter.externalAuth is set exactly when filter.type is ExternalAuth');
    }
    for (const match of rule.matches ?? []) {
      const value = match.path?.value ?? '/';
      // The CRD's CEL rules for PathPrefix and Exact values.
      assert.ok(value.startsWith('/') && !value.includes('//'), `path ${value} must start with "/" and have no "//"`);
    }
  }
}

/**
 * Type-checks every document against its model's interface, as object literals, so that an
 * unknown or misspelt field (`readOnlyRootFileSystem`) is an excess-property error. Returns
 * the errors, each naming its document.
 */
function findUnknownFields(manifests: readonly Manifest[]): string[] {
  const file = join(root, 'test/config/__kubernetes_manifest_types__.ts');
  const lines: string[] = [];
  const labelOfLine: string[] = [];
  manifests.forEach((manifest, i) => {
    const entry = MODELS[`${manifest.apiVersion}/${manifest.kind}`]!;
    lines.push(`import type { ${entry.typeName} as T${i} } from '${entry.typeModule}';`);
    labelOfLine.push('imports');
  });
  manifests.forEach((manifest, i) => {
    lines.push(`export const doc${i}: T${i} = ${JSON.stringify(manifest.body)};`);
    labelOfLine.push(`${manifest.file} document ${manifest.index} (${manifest.kind} ${manifest.name})`);
  });
  const text = `${lines.join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const line = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : -1;
    return `${labelOfLine[line] ?? 'unknown place'}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}

// ---- helpers over the parsed objects ----

function only<T>(manifests: readonly Manifest[], kind: string, name?: string): T {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.name === name));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` named ${name}` : ''}`);
  return found[0]!.body as T;
}

function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  const wanted = Object.entries(selector ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
}

/** A container port given by number or by name, as its number. */
function containerPortOf(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function httpGetOf(probe: IProbe | undefined, container: IContainer): { path: string | undefined; port: number | undefined } {
  return { path: probe?.httpGet?.path, port: containerPortOf(container, probe?.httpGet?.port) };
}

const TEST_ENV = {
  GATEHOUSE_SECRET: 's'.repeat(40),
  ADMIN_TOKEN: 't'.repeat(40),
  SMTP_URL: 'smtp://mailer:password@mail.example.com:587',
};

describe('the Kubernetes examples in config/kubernetes/', () => {
  const parseProblems: string[] = [];
  const manifests = MANIFEST_FILES.flatMap((file) => readManifests(file, parseProblems));
  const gatehouse = manifests.filter((m) => m.file === 'gatehouse.yaml');
  let configText: string;
  let loaded: LoadedConfig;
  let deployment: IDeployment;
  let container: IContainer;

  before(() => {
    const configMap = only<IConfigMap>(gatehouse, 'ConfigMap');
    configText = configMap.data?.['gateway.yaml'] ?? '';
    assert.notEqual(configText, '', 'the ConfigMap has a gateway.yaml key');
    loaded = parseConfigText(configText, 'gatehouse.yaml ConfigMap gateway.yaml', TEST_ENV);
    deployment = only<IDeployment>(gatehouse, 'Deployment', 'gatehouse');
    const containers = deployment.spec?.template.spec?.containers ?? [];
    assert.equal(containers.length, 1, 'the gateway pod has one container');
    container = containers[0]!;
  });

  test('every file is YAML whose documents are Kubernetes objects', () => {
    assert.deepEqual(parseProblems, []);
  });

  test('every document validates against its Kubernetes schema', () => {
    assert.ok(manifests.length >= 8, `expected the full set of objects, got ${manifests.length}`);
    const failures = manifests.flatMap((m) => {
      const entry = MODELS[`${m.apiVersion}/${m.kind}`];
      if (!entry) return [`${m.file} document ${m.index}: no model for ${m.apiVersion} ${m.kind}`];
      try {
        entry.validate(m.body);
        return [];
      } catch (error) {
        return [`${m.file} document ${m.index} (${m.kind} ${m.name}): ${(error as Error).message}`];
      }
    });
    assert.deepEqual(failures, []);
  });

  test('no document has a field its kind does not know', () => {
    assert.deepEqual(findUnknownFields(manifests), []);
  });

  test('no document pins a namespace: kubectl apply -n chooses it', () => {
    const pinned = manifests.filter((m) => isRecord(m.body.metadata) && m.body.metadata.namespace !== undefined).map((m) => `${m.file} ${m.kind} ${m.name}`);
    assert.deepEqual(pinned, []);
  });

  test("the ConfigMap's gateway.yaml is a valid config for the gateway", () => {
    const { config } = loaded;
    assert.deepEqual(config.session.store, { redis: { url: 'redis://gatehouse-redis:6379', prefix: 'gatehouse:' } });
    assert.deepEqual(config.session.secret, [TEST_ENV.GATEHOUSE_SECRET], 'session.secret comes from ${GATEHOUSE_SECRET}');
    assert.equal(config.admin.token, TEST_ENV.ADMIN_TOKEN, 'admin.token comes from ${ADMIN_TOKEN}');
    assert.equal(config.mail.transport, 'smtp');
    assert.equal(config.mail.smtp?.url, TEST_ENV.SMTP_URL, 'mail.smtp.url comes from ${SMTP_URL}');
    assert.ok(config.trust_proxy.length > 0, 'trust_proxy names the pod network, so forward-auth questions are answered');
    assert.ok(config.routes.some((route) => route.to === undefined), 'one route is forward-auth only (no to)');
  });

  test('every ${NAME} of gateway.yaml is set in the pod from the Secret, which has exactly those keys', () => {
    const referenced = [...new Set([...configText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))].sort();
    const secret = only<ISecret>(manifests, 'Secret');
    const fromSecret = (container.env ?? [])
      .filter((env) => env.valueFrom?.secretKeyRef?.name === secret.metadata?.name && env.valueFrom?.secretKeyRef?.key === env.name)
      .map((env) => env.name)
      .sort();
    assert.deepEqual(fromSecret, referenced);
    assert.deepEqual(Object.keys(secret.stringData ?? {}).sort(), referenced);
  });

  test("the Secret's placeholders cannot run a gateway: its GATEHOUSE_SECRET is refused", () => {
    const secret = only<ISecret>(manifests, 'Secret');
    assert.throws(
      () => parseConfigText(configText, 'gateway.yaml', { ...secret.stringData }),
      (error: unknown) => error instanceof ConfigError && error.errors.some((line) => /session\.secret: must be at least 32 characters/.test(line)),
    );
  });

  test('the ConfigMap is mounted where GATEHOUSE_CONFIG points', () => {
    const configMap = only<IConfigMap>(gatehouse, 'ConfigMap');
    const volume = deployment.spec?.template.spec?.volumes?.find((v) => v.configMap?.name === configMap.metadata?.name);
    assert.ok(volume, 'a volume of the gatehouse ConfigMap');
    const mount = container.volumeMounts?.find((m) => m.name === volume.name);
    assert.ok(mount, 'the container mounts it');
    const configPath = container.env?.find((env) => env.name === 'GATEHOUSE_CONFIG')?.value;
    assert.equal(configPath, `${mount.mountPath.replace(/\/$/, '')}/gateway.yaml`);
  });

  test('the probes ask /healthz and /readyz on the port of admin.listen, which the kubelet can reach', () => {
    const admin = loaded.config.admin.listen;
    assert.ok(admin, 'admin.listen is not off');
    assert.ok(!isLoopbackHost(admin.host), `admin.listen must not be loopback: the kubelet connects to the pod IP (got ${admin.host})`);
    assert.deepEqual(httpGetOf(container.livenessProbe, container), { path: '/healthz', port: admin.port });
    assert.deepEqual(httpGetOf(container.readinessProbe, container), { path: '/readyz', port: admin.port });
    if (container.startupProbe) assert.deepEqual(httpGetOf(container.startupProbe, container), { path: '/healthz', port: admin.port });
  });

  test("the Service sends port 8080 to the gateway's listen port, on the gateway's pods only", () => {
    const service = only<IService>(gatehouse, 'Service', 'gatehouse');
    const ports = service.spec?.ports ?? [];
    assert.equal(ports.length, 1, 'one port: the admin listener stays out of the Service');
    assert.equal(ports[0]!.port, 8080);
    assert.equal(containerPortOf(container, ports[0]!.targetPort), loaded.config.listen.port);
    const podLabels = deployment.spec?.template.metadata?.labels;
    assert.ok(selects(service.spec?.selector, podLabels), 'the Service selects the gateway pods');
    const redisPods = only<IStatefulSet>(manifests, 'StatefulSet').spec?.template.metadata?.labels;
    assert.ok(!selects(service.spec?.selector, redisPods), 'the Service does not select the Redis pod');
  });

  test('two replicas, and the PodDisruptionBudget keeps one of exactly those pods', () => {
    const pdb = only<IPodDisruptionBudget>(gatehouse, 'PodDisruptionBudget');
    assert.equal(deployment.spec?.replicas, 2);
    assert.equal(pdb.spec?.minAvailable, 1);
    const podLabels = deployment.spec?.template.metadata?.labels;
    assert.ok(selects(pdb.spec?.selector?.matchLabels, podLabels), 'the PDB selects the gateway pods');
    assert.ok(selects(deployment.spec?.selector.matchLabels, podLabels), "the Deployment's selector matches its pods");
    const redisPods = only<IStatefulSet>(manifests, 'StatefulSet').spec?.template.metadata?.labels;
    assert.ok(!selects(pdb.spec?.selector?.matchLabels, redisPods), 'the PDB does not count the Redis pod');
  });

  test('the gateway runs as non-root on a read-only root filesystem, with resource requests', () => {
    const pod = deployment.spec?.template.spec;
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
    assert.ok(container.resources?.requests?.cpu !== undefined && container.resources.requests.memory !== undefined, 'cpu and memory requests');
  });

  test("Redis is where session.store.redis.url points, keeps an append-only file on its volume, and takes only the gateway's pods", () => {
    const url = new URL((loaded.config.session.store as { redis: { url: string } }).redis.url);
    const service = only<IService>(manifests, 'Service', url.hostname);
    const redisPort = service.spec?.ports?.find((p) => p.port === Number(url.port));
    assert.ok(redisPort, `the ${url.hostname} Service has port ${url.port}`);
    const statefulSet = only<IStatefulSet>(manifests, 'StatefulSet');
    const redis = statefulSet.spec?.template.spec?.containers[0];
    assert.ok(redis);
    assert.equal(containerPortOf(redis, redisPort.targetPort), 6379);
    assert.ok(selects(service.spec?.selector, statefulSet.spec?.template.metadata?.labels), 'the Service selects the Redis pod');
    const args = redis.args ?? [];
    const argAfter = (flag: string) => args[args.indexOf(flag) + 1];
    assert.ok(args.includes('--appendonly') && argAfter('--appendonly') === 'yes', 'appendonly yes');
    assert.equal(argAfter('--maxmemory-policy'), 'noeviction');
    const claim = statefulSet.spec?.volumeClaimTemplates?.[0]?.metadata?.name;
    assert.ok(claim, 'a volume claim template');
    assert.equal(redis.volumeMounts?.find((m) => m.name === claim)?.mountPath, argAfter('--dir'), 'the data directory is the claimed volume');
    const policy = only<INetworkPolicy>(manifests, 'NetworkPolicy');
    assert.ok(selects(policy.spec?.podSelector?.matchLabels, statefulSet.spec?.template.metadata?.labels), 'the NetworkPolicy guards the Redis pod');
    const allowed = (policy.spec?.ingress ?? []).flatMap((rule) => rule.from ?? []);
    assert.ok(allowed.length > 0 && allowed.every((peer) => selects(peer.podSelector?.matchLabels, deployment.spec?.template.metadata?.labels)), 'only the gateway pods may connect');
  });

  describe('the HTTPRoutes of gateway-api.yaml', () => {
    const routes = manifests.filter((m) => m.kind === 'HTTPRoute').map((m) => m.body as unknown as IHTTPRoute);
    const isExternalAuth = (filter: IHTTPRouteFilter) => filter.type === 'ExternalAuth';
    const forwardAuthRoute = () => {
      const found = routes.filter((route) => route.spec?.rules?.some((rule) => rule.filters?.some(isExternalAuth)));
      assert.equal(found.length, 1, 'one HTTPRoute uses ExternalAuth');
      return found[0]!;
    };
    const ruleWithPrefix = (route: IHTTPRoute, prefix: string) =>
      route.spec?.rules?.find((rule) => rule.matches?.some((match) => match.path?.type === 'PathPrefix' && match.path.value === prefix));
    const configRouteFor = (route: IHTTPRoute) => {
      const hosts = route.spec?.hostnames ?? [];
      assert.equal(hosts.length, 1, 'one host name per HTTPRoute');
      const found = loaded.config.routes.find((r) => r.from.hostname === hosts[0] && r.from.protocol === 'https:');
      assert.ok(found, `gateway.yaml has an https route for ${hosts[0]}`);
      return found;
    };

    test('the ExternalAuth filter asks the gatehouse Service on /.gatehouse/auth/ext over HTTP', () => {
      const service = only<IService>(gatehouse, 'Service', 'gatehouse');
      const filter = forwardAuthRoute().spec?.rules?.flatMap((rule) => rule.filters ?? []).find(isExternalAuth)?.externalAuth;
      assert.ok(filter);
      assert.equal(filter.protocol, 'HTTP');
      assert.equal(filter.backendRef.name, service.metadata?.name);
      assert.equal(filter.backendRef.kind ?? 'Service', 'Service');
      assert.equal(filter.backendRef.namespace, undefined, 'the Service in the route namespace (no ReferenceGrant needed)');
      assert.equal(filter.backendRef.port, service.spec?.ports?.[0]?.port);
      assert.equal(filter.http?.path, '/.gatehouse/auth/ext');
      // The path the Gateway asks, with an original path appended, is the gateway's ext endpoint.
      assert.equal(questionOf(`${filter.http.path}/reports?x=1`), 'ext');
      assert.equal(filter.forwardBody, undefined, 'the body is not buffered for the question');
    });

    test('the question carries the cookie, Accept and the scheme; the answer copies exactly the identity headers', () => {
      const route = forwardAuthRoute();
      const http = route.spec?.rules?.flatMap((rule) => rule.filters ?? []).find(isExternalAuth)?.externalAuth?.http;
      const lower = (names: readonly string[] | undefined) => (names ?? []).map((name) => name.toLowerCase()).sort();
      for (const needed of ['cookie', 'accept', 'x-forwarded-proto']) {
        assert.ok(lower(http?.allowedHeaders).includes(needed), `allowedHeaders includes ${needed}`);
      }
      // What the gateway's 200 carries for a signed-in guest on this route: its identity
      // headers, the route's own headers, the assertion.
      const configRoute = configRouteFor(route);
      const sent: string[] = [];
      appendIdentityHeaders(sent, { email: 'guest@example.com', groups: [] }, configRoute.name, compileHeaderTemplates(configRoute.headers));
      const names = sent.filter((_, i) => i % 2 === 0);
      if (loaded.config.assertion.enabled) names.push(loaded.config.assertion.header);
      assert.deepEqual(lower(http?.allowedResponseHeaders), lower([...new Set(names)]));
    });

    test("guests sign in on the app's host: /.gatehouse/ goes to the gatehouse Service without the filter", () => {
      const route = forwardAuthRoute();
      const pages = ruleWithPrefix(route, '/.gatehouse/');
      assert.ok(pages, 'a PathPrefix /.gatehouse/ rule');
      assert.deepEqual(pages.filters ?? [], []);
      assert.deepEqual(pages.backendRefs?.map((ref) => [ref.name, ref.port]), [['gatehouse', 8080]]);
      const questions = ruleWithPrefix(route, '/.gatehouse/auth/');
      assert.ok(questions, 'a PathPrefix /.gatehouse/auth/ rule');
      assert.deepEqual(questions.backendRefs ?? [], [], 'clients cannot ask forward-auth questions through the Gateway');
      assert.deepEqual(questions.filters ?? [], []);
    });

    test('the forward-auth host is a route without `to`, and the app rule goes to another Service', () => {
      const route = forwardAuthRoute();
      assert.equal(configRouteFor(route).to, undefined, 'a forward-auth route never proxies');
      const app = route.spec?.rules?.find((rule) => rule.filters?.some(isExternalAuth));
      const targets = app?.backendRefs?.map((ref) => ref.name) ?? [];
      assert.ok(targets.length > 0 && !targets.includes('gatehouse'), `the app's own Service (got ${targets.join(', ')})`);
    });

    test('every other HTTPRoute sends its host to the gatehouse Service, for a proxy-mode route', () => {
      const others = routes.filter((route) => route !== forwardAuthRoute());
      assert.ok(others.length > 0);
      for (const route of others) {
        assert.notEqual(configRouteFor(route).to, undefined, 'a proxy-mode route has a `to`');
        assert.deepEqual(route.spec?.rules?.flatMap((rule) => rule.backendRefs ?? []).map((ref) => [ref.name, ref.port]), [['gatehouse', 8080]]);
      }
    });
  });
});
