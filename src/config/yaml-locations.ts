/**
 * Finds the line of a config path (`['routes', 2, 'allow', 0]`) in the parsed YAML document,
 * so every config error can say `gateway.yaml:14` instead of leaving the user to search.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** A path into the config as zod and the YAML document both see it. */
export type ConfigPath = readonly PropertyKey[];

interface PathWalk {
  /** The deepest node found along the path (the node itself when `complete`). */
  readonly node: Node | undefined;
  /** The key of the map entry that holds `node`, if `node` is a map value. */
  readonly key: Node | undefined;
  readonly complete: boolean;
}

export class YamlLocator {
  constructor(
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** 1-based line of a byte offset in the source. */
  lineOfOffset(offset: number): number {
    return this.lineCounter.linePos(offset).line;
  }

  /** 1-based line where a node starts; 1 when it has no position (e.g. an empty file). */
  lineOfNode(node: Node | undefined): number {
    const start = node?.range?.[0];
    return start === undefined ? 1 : this.lineOfOffset(start);
  }

  /**
   * Line of the value at `path`. A scalar is reported on its own line. A mapping or list held
   * by a key is reported on the key's line (`smtp:`), where a reader looks for it; a missing
   * value is reported at its deepest existing parent, by the same rule.
   */
  lineOfValue(path: ConfigPath): number {
    const { node, key, complete } = this.walk(path);
    if (complete && node && !isMap(node) && !isSeq(node)) return this.lineOfNode(node);
    return this.lineOfNode(key ?? node);
  }

  /** Line of the key that ends `path` (for unknown or invalid keys). */
  lineOfKey(path: ConfigPath): number {
    const { key, complete } = this.walk(path);
    return complete && key ? this.lineOfNode(key) : this.lineOfValue(path);
  }

  private walk(path: ConfigPath): PathWalk {
    let node = this.document.contents ?? undefined;
    let key: Node | undefined;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) return { node, key, complete: false };
        // `name:` with no value: the key is all there is to point at.
        if (!pair.value) return { node: pair.key as Node, key: undefined, complete: false };
        node = pair.value as Node;
        key = pair.key as Node;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        node = node.items[segment] as Node;
        key = undefined;
      } else {
        return { node, key, complete: false };
      }
    }
    return { node, key, complete: true };
  }
}
