import { z } from 'zod';

const noLineBreaks = (s: string) => !/[\r\n]/.test(s);

export const TemplateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    subject: z.string().min(1).max(998).refine(noLineBreaks, 'must not contain CR or LF (it is a header field)'),
    html: z.string().max(500_000).nullish(),
    text_body: z.string().max(500_000).nullish(),
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
