// Object types, and small whole objects (tag objects), read straight from a
// repository's object store without starting git: a tag push then needs no
// cat-file besides the walk (each git process costs the daemon ~2-3 ms).
// It answers only what it is sure of: loose objects and version-2 pack
// indexes of SHA-1 repositories, alternates followed. Anything else (SHA-256,
// a deltified tag body, an object not found, a file that cannot be read or
// parsed, e.g. while gc replaces packs) is null: the caller then asks git.

import type { FileHandle } from 'node:fs/promises';
import { open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { constants, inflateSync } from 'node:zlib';

/** The four git object types. */
export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

/** What the store knows about one object. */
export interface StoredObject {
  type: ObjectType;
  /** The content, when asked for and stored whole (not as a delta) and small; else null. */
  body: Buffer | null;
}

const PACK_TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** Largest body read (tag objects are small; anything bigger is left to git). */
export const MAX_BODY_BYTES = 1 << 20;
/** Delta chains followed for a type (git's default depth is 50, aggressive 250). */
const MAX_DELTA_DEPTH = 1000;
/** Alternates followed (git allows 5 levels). */
const MAX_ALTERNATE_DEPTH = 5;
const IDX_HEADER = 8;
const IDX_FANOUT_END = IDX_HEADER + 256 * 4;
const SHA1 = /^[0-9a-f]{40}$/;

/** Thrown inside the store for anything unexpected; read() turns it into null. */
class NotSure extends Error {}

/** One pack: its index (fanout read on first use) and the pack file. */
interface Pack {
  idxPath: string;
  packPath: string;
  fanout: Uint32Array | null;
}

/** One objects/ directory: loose objects and its packs (listed on first use). */
interface ObjectDirectory {
  dir: string;
  packs: Pack[] | null;
}

/** Parses "<type> <size>\0" at the start of an inflated loose object. */
function parseLooseHeader(data: Buffer): { type: ObjectType; size: number; bodyStart: number } {
  const nul = data.indexOf(0);
  const match = nul > 0 ? /^(commit|tree|blob|tag) (\d+)$/.exec(data.subarray(0, nul).toString('latin1')) : null;
  if (!match) throw new NotSure('bad loose object header');
  return { type: match[1] as ObjectType, size: Number(match[2]), bodyStart: nul + 1 };
}

/**
 * Read access to one repository's objects; open with ObjectStore.open, read
 * with read(), and close() when done (it keeps pack files open meanwhile).
 */
export class ObjectStore {
  readonly #directories: ObjectDirectory[];
  readonly #handles = new Map<string, Promise<FileHandle>>();

  private constructor(directories: ObjectDirectory[]) {
    this.#directories = directories;
  }

  /**
   * The store of a git directory, or null when it is not one this reader
   * handles (a SHA-256 repository: `objectFormat` = the config's
   * extensions.objectFormat; quoted alternates).
   */
  static async open(gitDir: string, objectFormat: string | null = null): Promise<ObjectStore | null> {
    if (objectFormat !== null && objectFormat.toLowerCase() !== 'sha1') return null;
    try {
      // A linked worktree's git dir keeps its objects in the common dir.
      const common = (await readFile(path.join(gitDir, 'commondir'), 'utf8').catch(() => null))?.trim();
      const objects = path.join(common ? path.resolve(gitDir, common) : gitDir, 'objects');
      const directories: ObjectDirectory[] = [];
      await ObjectStore.#addWithAlternates(objects, directories, 0);
      return new ObjectStore(directories);
    } catch {
      return null;
    }
  }

  static async #addWithAlternates(dir: string, into: ObjectDirectory[], depth: number): Promise<void> {
    if (into.some((d) => d.dir === dir)) return;
    into.push({ dir, packs: null });
    if (depth >= MAX_ALTERNATE_DEPTH) return;
    const text = await readFile(path.join(dir, 'info', 'alternates'), 'utf8').catch(() => null);
    if (text === null) return;
    for (const line of text.split('\n')) {
      const entry = line.trim();
      if (entry === '' || entry.startsWith('#')) continue;
      // C-quoted paths are rare; not unquoting them here means "not sure", so such stores answer nothing.
      if (entry.startsWith('"')) throw new NotSure('quoted alternate');
      await ObjectStore.#addWithAlternates(path.resolve(dir, entry), into, depth + 1);
    }
  }

  /** The object's type (and body, when asked and stored whole), or null when not sure. */
  async read(sha: string, options: { body: boolean }): Promise<StoredObject | null> {
    if (!SHA1.test(sha)) return null;
    try {
      return await this.#find(sha, options.body, 0);
    } catch {
      return null;
    }
  }

  /** Closes the pack files read. */
  async close(): Promise<void> {
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(handles.map((h) => h.then((fh) => fh.close()).catch(() => {})));
  }

  async #find(sha: string, wantBody: boolean, depth: number): Promise<StoredObject> {
    for (const directory of this.#directories) {
      const loose = await this.#readLoose(directory.dir, sha, wantBody);
      if (loose) return loose;
      for (const pack of await this.#packsOf(directory)) {
        const offset = await this.#offsetIn(pack, sha);
        if (offset !== null) return this.#entryAt(pack, offset, wantBody, depth);
      }
    }
    throw new NotSure(`object ${sha} not found`);
  }

  async #readLoose(dir: string, sha: string, wantBody: boolean): Promise<StoredObject | null> {
    let handle: FileHandle;
    try {
      handle = await open(path.join(dir, sha.slice(0, 2), sha.slice(2)), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const { size: fileSize } = await handle.stat();
      if (!wantBody || fileSize > MAX_BODY_BYTES) {
        // The header is in the first bytes: inflate a prefix only (the object may be a huge blob).
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(Math.min(fileSize, 256)), 0, Math.min(fileSize, 256), 0);
        const header = parseLooseHeader(inflateSync(buffer.subarray(0, bytesRead), { finishFlush: constants.Z_SYNC_FLUSH }));
        return { type: header.type, body: null };
      }
      const data = inflateSync(await handle.readFile());
      const header = parseLooseHeader(data);
      if (data.length - header.bodyStart !== header.size) throw new NotSure('loose object size mismatch');
      return { type: header.type, body: header.size <= MAX_BODY_BYTES ? data.subarray(header.bodyStart) : null };
    } finally {
      await handle.close();
    }
  }

  async #packsOf(directory: ObjectDirectory): Promise<Pack[]> {
    if (directory.packs) return directory.packs;
    const packDir = path.join(directory.dir, 'pack');
    const names = await readdir(packDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    directory.packs = names.filter((n) => n.endsWith('.idx')).map((n) => ({
      idxPath: path.join(packDir, n),
      packPath: path.join(packDir, `${n.slice(0, -4)}.pack`),
      fanout: null,
    }));
    return directory.packs;
  }

  #handle(file: string): Promise<FileHandle> {
    let handle = this.#handles.get(file);
    if (!handle) {
      handle = open(file, 'r');
      this.#handles.set(file, handle);
    }
    return handle;
  }

  /** Exactly `length` bytes at `position`, or NotSure. */
  async #readAt(file: string, position: number, length: number): Promise<Buffer> {
    const handle = await this.#handle(file);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    if (bytesRead !== length) throw new NotSure(`${file}: short read`);
    return buffer;
  }

  /** Offset of sha in the pack, from its version-2 index; null when not in it. */
  async #offsetIn(pack: Pack, sha: string): Promise<number | null> {
    if (!pack.fanout) {
      const head = await this.#readAt(pack.idxPath, 0, IDX_FANOUT_END);
      if (head.readUInt32BE(0) !== 0xff744f63 || head.readUInt32BE(4) !== 2) throw new NotSure(`${pack.idxPath}: not a version-2 pack index`);
      const fanout = new Uint32Array(256);
      for (let i = 0; i < 256; i++) fanout[i] = head.readUInt32BE(IDX_HEADER + i * 4);
      pack.fanout = fanout;
    }
    const target = Buffer.from(sha, 'hex');
    const count = pack.fanout[255];
    const low = target[0] === 0 ? 0 : pack.fanout[target[0] - 1];
    const high = pack.fanout[target[0]];
    if (high <= low) return null;
    const names = await this.#readAt(pack.idxPath, IDX_FANOUT_END + low * 20, (high - low) * 20);
    let lo = 0;
    let hi = high - low;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const order = names.compare(target, 0, 20, mid * 20, mid * 20 + 20);
      if (order === 0) {
        const index = low + mid;
        const offsets = IDX_FANOUT_END + count * 24; // after names (20) and CRCs (4)
        const small = (await this.#readAt(pack.idxPath, offsets + index * 4, 4)).readUInt32BE(0);
        if ((small & 0x80000000) === 0) return small;
        const large = await this.#readAt(pack.idxPath, offsets + count * 4 + (small & 0x7fffffff) * 8, 8);
        const offset = Number(large.readBigUInt64BE(0));
        if (!Number.isSafeInteger(offset)) throw new NotSure('pack offset out of range');
        return offset;
      }
      if (order < 0) lo = mid + 1;
      else hi = mid;
    }
    return null;
  }

  /** Type (following deltas) and, for a whole object, the body of the pack entry at offset. */
  async #entryAt(pack: Pack, offset: number, wantBody: boolean, depth: number): Promise<StoredObject> {
    if (depth > MAX_DELTA_DEPTH) throw new NotSure('delta chain too long');
    // Entry header: type and size in a varint, then (deltas) the base; 32 bytes always suffice.
    const head = await this.#readHead(pack.packPath, offset, 32);
    let byte = head[0];
    const kind = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 4;
    let at = 1;
    while (byte & 0x80) {
      if (at >= head.length) throw new NotSure('bad pack entry header');
      byte = head[at++];
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    const type = PACK_TYPES[kind];
    if (type) {
      if (!wantBody || size > MAX_BODY_BYTES) return { type, body: null };
      // Deflate may grow incompressible data a little; the stream end is found by zlib.
      const compressed = await this.#readHead(pack.packPath, offset + at, size + 64 + (size >> 7));
      const body = inflateSync(compressed);
      if (body.length !== size) throw new NotSure('pack entry size mismatch');
      return { type, body };
    }
    if (kind === OFS_DELTA) {
      // Base offset: big-endian base-128 with an implicit +1 per continuation byte (pack-format.txt).
      if (at >= head.length) throw new NotSure('bad delta offset');
      byte = head[at++];
      let back = byte & 0x7f;
      while (byte & 0x80) {
        if (at >= head.length) throw new NotSure('bad delta offset');
        byte = head[at++];
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      if (back <= 0 || back > offset) throw new NotSure('bad delta offset');
      return { type: (await this.#entryAt(pack, offset - back, false, depth + 1)).type, body: null };
    }
    if (kind === REF_DELTA) {
      if (at + 20 > head.length) throw new NotSure('bad delta base');
      return { type: (await this.#find(head.subarray(at, at + 20).toString('hex'), false, depth + 1)).type, body: null };
    }
    throw new NotSure(`unknown pack entry type ${kind}`);
  }

  /** Up to `length` bytes at `position` (fewer at the end of the file, never none). */
  async #readHead(file: string, position: number, length: number): Promise<Buffer> {
    const handle = await this.#handle(file);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    if (bytesRead === 0) throw new NotSure(`${file}: offset beyond the end`);
    return buffer.subarray(0, bytesRead);
  }
}
