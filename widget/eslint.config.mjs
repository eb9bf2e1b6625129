// ESLint for the widget script (widget/assets). widget/script_lint_test.go runs it (in
// `make lint` and `make test`) on the script the gateway serves: the parts
// joined in one scope, so a name used in one part and defined in none is
// an error. Only rules, no plugins: nothing to import.
const browser = Object.fromEntries([
  'window', 'document', 'navigator', 'console', 'location', 'history', 'setTimeout', 'clearTimeout',
  'setInterval', 'clearInterval', 'getComputedStyle', 'WebSocket', 'URL', 'URLSearchParams', 'Element',
  'HTMLMediaElement', 'MediaStream', 'RTCPeerConnection', 'CSSStyleSheet', 'AudioContext'
].map((name) => [name, 'readonly']));

export default [{
  files: ['**/*.js'],
  languageOptions: { ecmaVersion: 2022, sourceType: 'script', globals: browser },
  linterOptions: { reportUnusedDisableDirectives: 'error' },
  rules: {
    'no-undef': 'error',
    'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    'no-redeclare': 'error',
    'no-shadow-restricted-names': 'error',
    'no-dupe-class-members': 'error',
    'no-dupe-keys': 'error',
    'no-duplicate-case': 'error',
    'no-unreachable': 'error',
    'no-fallthrough': 'error',
    'no-self-assign': 'error',
    'no-unsafe-finally': 'error',
    'no-cond-assign': ['error', 'except-parens'],
    'no-var': 'error',
    'prefer-const': 'error',
    'eqeqeq': ['error', 'smart'],
    'no-eval': 'error',
    'no-implied-eval': 'error',
    'no-new-func': 'error',
    'strict': ['error', 'function'],
    // Safe by construction: DOM from createElement and textContent only.
    'no-restricted-syntax': ['error',
      { selector: "AssignmentExpression[left.property.name=/^(innerHTML|outerHTML)$/]", message: 'build DOM with createElement and textContent' },
      { selector: "CallExpression[callee.property.name=/^(insertAdjacentHTML|write|writeln)$/]", message: 'build DOM with createElement and textContent' }]
  }
}];
