#!/usr/bin/env python3
"""assets.py OUT.c ROOT - builds the staff console and the customer's upload page (web/)
   into the C table `web_files`.
   assets.py --inputs ROOT - lists every file it reads (meson's inputs: edits rebuild).

Assets (our scripts and styles, the npm packages' files, an icon sprite made of the
bootstrap-icons the console uses) get content-hashed names, `app.3f2a9c1d5e.js`, and
are served from /assets/ with a year of caching; a script's imports of another
('./api.js') and of the sprite ('./icons.svg') are rewritten to the hashed names.
Pages are web/pages/NAME.html put into web/layout.html; in them `asset:NAME` (in an
attribute) becomes the asset's URL. Each file is stored as it is and, when that is
smaller, gzip-compressed. Source maps are left out (their comments removed).
A few files keep their own name and URL (FILES: the uploader script the upload page
tells customers to fetch); a row of src/api/routes.c serves each.
"""
import gzip
import hashlib
import os
import re
import sys

WEB = 'web'
NPM = {
    'bootstrap.min.css': 'node_modules/bootstrap/dist/css/bootstrap.min.css',
    'swagger-ui.css': 'node_modules/swagger-ui-dist/swagger-ui.css',
    'swagger-ui-bundle.js': 'node_modules/swagger-ui-dist/swagger-ui-bundle.js',
    # the browser build (UMD: window.tus), a classic script of the upload page
    'tus.min.js': 'node_modules/tus-js-client/dist/tus.min.js',
}
# served under their own name (not hashed, not under /assets/), paths from the root
FILES = {
    'uploader.sh': 'scripts/uploader.sh',
}
ICON_DIR = 'node_modules/bootstrap-icons/icons'
ICONS = [
    'archive', 'arrow-clockwise', 'box-arrow-right', 'check2', 'chevron-left', 'chevron-right',
    'clipboard', 'cloud-arrow-up', 'download', 'exclamation-triangle', 'eye', 'hdd',
    'key', 'list', 'moon-stars', 'pencil', 'people', 'person-circle', 'plus-lg', 'search',
    'shield-lock', 'sun', 'tag', 'terminal', 'trash', 'x-lg', 'braces', 'circle-half',
    'link-45deg', 'check-circle', 'exclamation-circle',
    'pause-fill', 'play-fill', 'file-earmark-zip', 'translate', 'info-circle', 'x-circle',
]
TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.ico': 'image/x-icon',
    '.sh': 'text/plain; charset=utf-8',
}


def sources(root):
    """Every file read, as (kind, name, path): kind 'page', 'layout', 'asset', 'icon',
    'file'."""
    web = os.path.join(root, WEB)
    out = [('layout', 'layout.html', os.path.join(web, 'layout.html'))]
    for sub, kind in (('pages', 'page'), ('js', 'asset'), ('css', 'asset'), ('img', 'asset')):
        d = os.path.join(web, sub)
        for f in sorted(os.listdir(d)):
            out.append((kind, f, os.path.join(d, f)))
    for name, rel in NPM.items():
        out.append(('asset', name, os.path.join(web, rel)))
    for icon in ICONS:
        out.append(('icon', icon, os.path.join(web, ICON_DIR, icon + '.svg')))
    for name, rel in FILES.items():
        out.append(('file', name, os.path.join(root, rel)))
    return out


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def strip_maps(name, data):
    if name.endswith(('.js', '.css')):
        data = re.sub(rb'\n?/[/*]# sourceMappingURL=[^\n]*', b'', data)
    return data


def sprite(icons):
    parts = [b'<svg xmlns="http://www.w3.org/2000/svg">']
    for name, data in icons:
        m = re.search(rb'<svg[^>]*viewBox="([^"]+)"[^>]*>(.*)</svg>', data, re.S)
        if not m:
            sys.exit(f'assets.py: cannot read icon {name}')
        parts.append(b'<symbol id="%s" viewBox="%s">%s</symbol>' % (name.encode(), m.group(1),
                                                                   m.group(2).strip()))
    parts.append(b'</svg>')
    return b''.join(parts)


REF = re.compile(rb'''(['"])\./([A-Za-z0-9_.-]+)\1''')


def hashed_names(assets):
    """Content hashes, in dependency order for our scripts (a script's hash covers the
    hashed names of what it imports). The npm packages' files are taken as they are:
    a bundle's own module names ('./isReactNative.js' in tus.min.js) are not ours."""
    names = {}
    done = set()

    def visit(name, stack):
        if name in done:
            return
        if name in stack:
            sys.exit(f'assets.py: import cycle through {name}')
        data = assets[name]
        if name.endswith('.js') and name not in NPM:
            for m in REF.finditer(data):
                dep = m.group(2).decode()
                if dep not in assets:
                    sys.exit(f'assets.py: {name} refers to unknown ./{dep}')
                visit(dep, stack | {name})
            data = REF.sub(lambda m: m.group(1) + b'./' + names[m.group(2).decode()].encode()
                           + m.group(1), data)
            assets[name] = data
        stem, ext = os.path.splitext(name)
        names[name] = f'{stem}.{hashlib.sha256(data).hexdigest()[:10]}{ext}'
        done.add(name)

    for n in sorted(assets):
        visit(n, frozenset())
    return names


def render_page(layout, name, text, names):
    m = re.match(r'\s*<!--(.*?)-->\s*', text, re.S)
    if not m:
        sys.exit(f'assets.py: {name} lacks its header comment')
    meta = {}
    for part in m.group(1).split(';'):
        if ':' in part:
            k, v = part.split(':', 1)
            meta[k.strip()] = v.strip()
    body = text[m.end():]
    head = ''.join(f'<link rel="stylesheet" href="asset:{c}">\n' for c in meta.get('css', '').split())
    head += ''.join(f'<script src="asset:{c}" defer></script>\n'
                    for c in meta.get('classic', '').split())
    page = layout
    nav = meta.get('nav', 'none')
    if nav == 'none':
        page = re.sub(r'<!-- nav -->.*<!-- /nav -->', '', page, flags=re.S)
    page = (page.replace('{{title}}', meta.get('title', 'logs-collector'))
            .replace('{{head}}', head)
            .replace('{{script}}', meta['script'])
            .replace('{{nav}}', nav)
            .replace('{{body}}', body))

    def url(m):
        n = m.group(2)
        if n not in names:
            sys.exit(f'assets.py: {name} refers to unknown asset {n}')
        return f'{m.group(1)}/assets/{names[n]}{m.group(3) or ""}{m.group(1)}'
    page = re.sub(r'''(["'])asset:([A-Za-z0-9_.-]+)(#[A-Za-z0-9_-]+)?\1''', url, page)
    if re.search(r'\sstyle=|<style|\son[a-z]+=', page):
        sys.exit(f'assets.py: {name} has inline style or script (the CSP forbids them)')
    return page.encode()


def c_string(data):
    """data as C string literals, 100 source characters a line."""
    lines, cur = [], []
    width = 0
    for b in data:
        c = chr(b)
        if 32 <= b < 127 and c not in '\\"?':
            s = c
        else:
            s = '\\%03o' % b
        cur.append(s)
        width += len(s)
        if width >= 100:
            lines.append('"' + ''.join(cur) + '"')
            cur, width = [], 0
    if cur or not lines:
        lines.append('"' + ''.join(cur) + '"')
    return '\n    '.join(lines)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--inputs':
        print('\n'.join(p for _, _, p in sources(sys.argv[2])))
        return
    out, root = sys.argv[1], sys.argv[2]
    assets, pages, icons, plain, layout = {}, {}, [], {}, None
    for kind, name, path in sources(root):
        data = read(path)
        if kind == 'layout':
            layout = data.decode()
        elif kind == 'page':
            pages[name] = data.decode()
        elif kind == 'icon':
            icons.append((name, data))
        elif kind == 'file':
            plain[name] = data
        else:
            if name in assets:
                sys.exit(f'assets.py: two assets named {name}')
            assets[name] = strip_maps(name, data)
    assets['icons.svg'] = sprite(icons)
    names = hashed_names(assets)
    files = [(names[n], d) for n, d in sorted(assets.items())]
    files += [(n, render_page(layout, n, t, names)) for n, t in sorted(pages.items())]
    files += sorted(plain.items())
    lines = ['/* generated by scripts/assets.py - do not edit */', '#include <stddef.h>',
             '#include "web/web.h"', '']
    entries = []
    for i, (name, data) in enumerate(files):
        ext = os.path.splitext(name)[1]
        gz = gzip.compress(data, 9, mtime=0)
        lines.append(f'static const unsigned char d{i}[] =\n    {c_string(data)};')
        if len(gz) < len(data) * 0.9:
            lines.append(f'static const unsigned char g{i}[] =\n    {c_string(gz)};')
            gzref = f'g{i}, {len(gz)}'
        else:
            gzref = 'NULL, 0'
        etag = hashlib.sha256(data).hexdigest()[:20]
        entries.append(f'    {{"{name}", "{TYPES[ext]}", d{i}, {len(data)}, {gzref}, '
                       f'"\\"{etag}\\""}},')
    lines.append('const struct web_file web_files[] = {')
    lines.extend(entries)
    lines.append('    {NULL, NULL, NULL, 0, NULL, 0, NULL},')
    lines.append('};')
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
