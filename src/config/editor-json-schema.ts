/**
 * The JSON Schema of gateway.yaml for editors (completion and checks while typing), generated
 * from the zod schema so it cannot drift from what the gateway accepts. It describes what a
 * user may *write* (`io: 'input'`): defaults are optional, durations are strings.
 * `npm run schema` writes it to config/gateway.schema.json; a test keeps that file current.
 */
import { z } from 'zod';
import { gatewayConfigSchema } from './schema.js';

export const EDITOR_JSON_SCHEMA_ID = 'urn:gatehouse:gateway.schema.json';

/** The editor JSON Schema as an object. */
export function buildEditorJsonSchema(): Record<string, unknown> {
  // Parsers written as transforms have no JSON Schema form; `any` leaves them unconstrained
  // rather than failing, and the gateway still checks them on load.
  const { $schema, ...rest } = z.toJSONSchema(gatewayConfigSchema, { io: 'input', unrepresentable: 'any' });
  return { $schema, $id: EDITOR_JSON_SCHEMA_ID, title: 'Gatehouse gateway.yaml', ...rest };
}

/** The file content of config/gateway.schema.json: pretty-printed, with a final newline. */
export function renderEditorJsonSchema(): string {
  return `${JSON.stringify(buildEditorJsonSchema(), null, 2)}\n`;
}
