import type { Request, Response } from 'express';

/** A cookie of this site: `__Host-` bound to this host and Secure over https; HttpOnly and SameSite=Lax always. */
export function siteCookie(publicUrl: string, baseName: string, maxSeconds: number) {
  const secure = new URL(publicUrl).protocol === 'https:';
  const name = secure ? `__Host-${baseName}` : baseName;
  const attributes = `Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  return {
    name,
    set: (res: Response, value: string) => res.append('Set-Cookie', `${name}=${value}; ${attributes}; Max-Age=${Math.floor(maxSeconds)}`),
    clear: (res: Response) => res.append('Set-Cookie', `${name}=; ${attributes}; Max-Age=0`),
    read: (req: Request) => {
      for (const part of (req.get('cookie') ?? '').split(';')) {
        const at = part.indexOf('=');
        if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
      }
      return undefined;
    },
  };
}

/** The session cookie, kept at most SESSION_MAX_HOURS. */
export const sessionCookie = (publicUrl: string, maxHours: number) => siteCookie(publicUrl, 'closeloop_session', maxHours * 3600);

export type SiteCookie = ReturnType<typeof siteCookie>;
