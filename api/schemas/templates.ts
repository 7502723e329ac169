import { z } from 'zod';
import { trimmedText } from './common';


export const TemplateBody = z
  .object({
    name: trimmedText(1, 200),
    subject: z.string().min(1).max(998).regex(/^[^\r\n]*$/, 'must not contain CR or LF (it is a header field)'),
    html: z.string().max(500_000).nullish(),
    text_body: z.string().max(500_000).nullish(),
  })
  .refine((t) => t.html != null || t.text_body != null, { message: 'give html, text_body or both', path: ['html'] })
  // the refinement, as the document says it (null counts as absent)
  .meta({ anyOf: ['html', 'text_body'].map((field) => ({ required: [field], properties: { [field]: { type: 'string' } } })) });

/** Unsaved content to render for a contact: the body of a save without its name. */
export const DraftPreviewBody = z
  .object({
    subject: TemplateBody.shape.subject,
    html: TemplateBody.shape.html,
    text_body: TemplateBody.shape.text_body,
    /** Absent: a sample contact with every field filled. */
    contact_id: z.number().int().positive().optional(),
  })
  .refine((t) => t.html != null || t.text_body != null, { message: 'give html, text_body or both', path: ['html'] });

export const Template = z.object({
  template_id: z.number().int(),
  name: z.string(),
  subject: z.string(),
  html: z.string().nullable(),
  text_body: z.string().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
});

export const TemplateList = z.object({ templates: z.array(Template) });
export const TemplateParams = z.object({ id: z.coerce.number().int().positive() });
export const PreviewBody = z.object({ contact_id: z.number().int().positive() });
export const Preview = z.object({ subject: z.string(), html: z.string().nullable(), text: z.string().nullable() });
