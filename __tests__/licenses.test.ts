// The license check of what dist/ bundles: allowed expressions pass, anything else fails it.
import { bundledNames, disallowed } from '../scripts/check-licenses.js'

test('permissive licenses and SPDX expressions of them pass', () => {
  expect(
    disallowed([
      { name: 'a', version: '1.0.0', license: 'MIT' },
      { name: 'b', version: '1.0.0', license: '(Apache-2.0 AND BSD-3-Clause)' },
      { name: 'c', version: '1.0.0', license: 'MIT OR GPL-3.0-only' }
    ])
  ).toEqual([])
})

test('a copyleft, a missing or a malformed license fails the check, naming the package', () => {
  expect(
    disallowed([
      { name: 'gpl-thing', version: '2.0.0', license: 'GPL-3.0-only' },
      { name: 'no-license', version: '0.1.0' },
      { name: 'odd', version: '1.0.0', license: 'see LICENSE file' }
    ])
  ).toEqual([
    'gpl-thing@2.0.0: GPL-3.0-only is not in the allow list',
    'no-license@0.1.0: no SPDX license in its package.json',
    "odd@1.0.0: 'see LICENSE file' is not an SPDX license expression"
  ])
})

test("the package names of ncc's licenses.txt are read, not the lines of license texts", () => {
  const text = `@actions/core\nMIT\nThe MIT License (MIT)\n\nCopyright 2019 GitHub\n\nundici\nMIT\nMIT License\n\ntext\n`
  expect(bundledNames(text)).toEqual(['@actions/core', 'undici'])
})
