//! Embedded 5×7 bitmap font (printable ASCII plus a few Greek and math glyphs) and a
//! tiny text layout with `$…$` math spans supporting `_` subscripts, `^` superscripts
//! and `\name` Greek letters.

/// One glyph: 9 rows of 5 pixels (bit 4 is the leftmost column). Rows 0..7 hold the
/// cap height with the baseline under row 6; rows 7 and 8 hold descenders.
pub(super) type Glyph = [u8; 9];

/// Cap height in font pixels (multiply by the scale for screen pixels).
pub(super) const CAP: i64 = 7;
/// Glyph cell height including descenders.
pub(super) const CELL_H: i64 = 9;
/// Glyph cell width.
const CELL_W: i64 = 5;

/// Glyphs for printable ASCII `' '..='~'`, indexed by `code - 32`.
pub(super) const ASCII: [Glyph; 95] = [
    // ' '
    [
        0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
    // '!'
    [
        0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00100, 0b00000, 0b00000,
    ],
    // '"'
    [
        0b01010, 0b01010, 0b01010, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
    // '#'
    [
        0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010, 0b00000, 0b00000,
    ],
    // '$'
    [
        0b00100, 0b01111, 0b10100, 0b01110, 0b00101, 0b11110, 0b00100, 0b00000, 0b00000,
    ],
    // '%'
    [
        0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011, 0b00000, 0b00000,
    ],
    // '&'
    [
        0b01100, 0b10010, 0b10100, 0b01000, 0b10101, 0b10010, 0b01101, 0b00000, 0b00000,
    ],
    // '\''
    [
        0b00100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
    // '('
    [
        0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010, 0b00000, 0b00000,
    ],
    // ')'
    [
        0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000, 0b00000, 0b00000,
    ],
    // '*'
    [
        0b00000, 0b00100, 0b10101, 0b01110, 0b10101, 0b00100, 0b00000, 0b00000, 0b00000,
    ],
    // '+'
    [
        0b00000, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000, 0b00000, 0b00000,
    ],
    // ','
    [
        0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00100, 0b00100, 0b01000, 0b00000,
    ],
    // '-'
    [
        0b00000, 0b00000, 0b00000, 0b11110, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
    // '.'
    [
        0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b00000, 0b00000,
    ],
    // '/'
    [
        0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000, 0b00000, 0b00000,
    ],
    // '0'
    [
        0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // '1'
    [
        0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000,
    ],
    // '2'
    [
        0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111, 0b00000, 0b00000,
    ],
    // '3'
    [
        0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // '4'
    [
        0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010, 0b00000, 0b00000,
    ],
    // '5'
    [
        0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // '6'
    [
        0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // '7'
    [
        0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00000, 0b00000,
    ],
    // '8'
    [
        0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // '9'
    [
        0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100, 0b00000, 0b00000,
    ],
    // ':'
    [
        0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000, 0b00000, 0b00000,
    ],
    // ';'
    [
        0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b01000, 0b00000, 0b00000,
    ],
    // '<'
    [
        0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010, 0b00000, 0b00000,
    ],
    // '='
    [
        0b00000, 0b00000, 0b11111, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
    // '>'
    [
        0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000, 0b00000, 0b00000,
    ],
    // '?'
    [
        0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100, 0b00000, 0b00000,
    ],
    // '@'
    [
        0b01110, 0b10001, 0b00001, 0b01101, 0b10101, 0b10101, 0b01110, 0b00000, 0b00000,
    ],
    // 'A'
    [
        0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000,
    ],
    // 'B'
    [
        0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110, 0b00000, 0b00000,
    ],
    // 'C'
    [
        0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // 'D'
    [
        0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100, 0b00000, 0b00000,
    ],
    // 'E'
    [
        0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111, 0b00000, 0b00000,
    ],
    // 'F'
    [
        0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000, 0b00000, 0b00000,
    ],
    // 'G'
    [
        0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111, 0b00000, 0b00000,
    ],
    // 'H'
    [
        0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000,
    ],
    // 'I'
    [
        0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000,
    ],
    // 'J'
    [
        0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100, 0b00000, 0b00000,
    ],
    // 'K'
    [
        0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001, 0b00000, 0b00000,
    ],
    // 'L'
    [
        0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111, 0b00000, 0b00000,
    ],
    // 'M'
    [
        0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000,
    ],
    // 'N'
    [
        0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001, 0b00000, 0b00000,
    ],
    // 'O'
    [
        0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // 'P'
    [
        0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000, 0b00000, 0b00000,
    ],
    // 'Q'
    [
        0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101, 0b00000, 0b00000,
    ],
    // 'R'
    [
        0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001, 0b00000, 0b00000,
    ],
    // 'S'
    [
        0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110, 0b00000, 0b00000,
    ],
    // 'T'
    [
        0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00000,
    ],
    // 'U'
    [
        0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // 'V'
    [
        0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00000, 0b00000,
    ],
    // 'W'
    [
        0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010, 0b00000, 0b00000,
    ],
    // 'X'
    [
        0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001, 0b00000, 0b00000,
    ],
    // 'Y'
    [
        0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00000,
    ],
    // 'Z'
    [
        0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111, 0b00000, 0b00000,
    ],
    // '['
    [
        0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110, 0b00000, 0b00000,
    ],
    // '\\'
    [
        0b00000, 0b10000, 0b01000, 0b00100, 0b00010, 0b00001, 0b00000, 0b00000, 0b00000,
    ],
    // ']'
    [
        0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110, 0b00000, 0b00000,
    ],
    // '^'
    [
        0b00100, 0b01010, 0b10001, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
    // '_'
    [
        0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111, 0b00000,
    ],
    // '`'
    [
        0b01000, 0b00100, 0b00010, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
    // 'a'
    [
        0b00000, 0b00000, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111, 0b00000, 0b00000,
    ],
    // 'b'
    [
        0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0b00000, 0b00000,
    ],
    // 'c'
    [
        0b00000, 0b00000, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // 'd'
    [
        0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0b00000, 0b00000,
    ],
    // 'e'
    [
        0b00000, 0b00000, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110, 0b00000, 0b00000,
    ],
    // 'f'
    [
        0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000, 0b00000, 0b00000,
    ],
    // 'g'
    [
        0b00000, 0b00000, 0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110,
    ],
    // 'h'
    [
        0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000,
    ],
    // 'i'
    [
        0b00100, 0b00000, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000,
    ],
    // 'j'
    [
        0b00010, 0b00000, 0b00110, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100,
    ],
    // 'k'
    [
        0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b00000, 0b00000,
    ],
    // 'l'
    [
        0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000,
    ],
    // 'm'
    [
        0b00000, 0b00000, 0b11010, 0b10101, 0b10101, 0b10101, 0b10101, 0b00000, 0b00000,
    ],
    // 'n'
    [
        0b00000, 0b00000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000,
    ],
    // 'o'
    [
        0b00000, 0b00000, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000,
    ],
    // 'p'
    [
        0b00000, 0b00000, 0b11110, 0b10001, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000,
    ],
    // 'q'
    [
        0b00000, 0b00000, 0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001,
    ],
    // 'r'
    [
        0b00000, 0b00000, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000, 0b00000, 0b00000,
    ],
    // 's'
    [
        0b00000, 0b00000, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110, 0b00000, 0b00000,
    ],
    // 't'
    [
        0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110, 0b00000, 0b00000,
    ],
    // 'u'
    [
        0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0b00000, 0b00000,
    ],
    // 'v'
    [
        0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00000, 0b00000,
    ],
    // 'w'
    [
        0b00000, 0b00000, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010, 0b00000, 0b00000,
    ],
    // 'x'
    [
        0b00000, 0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b00000, 0b00000,
    ],
    // 'y'
    [
        0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110,
    ],
    // 'z'
    [
        0b00000, 0b00000, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111, 0b00000, 0b00000,
    ],
    // '{'
    [
        0b00010, 0b00100, 0b00100, 0b01000, 0b00100, 0b00100, 0b00010, 0b00000, 0b00000,
    ],
    // '|'
    [
        0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00000,
    ],
    // '}'
    [
        0b01000, 0b00100, 0b00100, 0b00010, 0b00100, 0b00100, 0b01000, 0b00000, 0b00000,
    ],
    // '~'
    [
        0b00000, 0b00000, 0b01000, 0b10101, 0b00010, 0b00000, 0b00000, 0b00000, 0b00000,
    ],
];

/// Extra Greek and math glyphs.
pub(super) const EXTRA: [(char, Glyph); 31] = [
    (
        'α',
        [
            0b00000, 0b00000, 0b01101, 0b10010, 0b10010, 0b10010, 0b01101, 0b00000, 0b00000,
        ],
    ),
    (
        'β',
        [
            0b01100, 0b10010, 0b10010, 0b11100, 0b10010, 0b10010, 0b11100, 0b10000, 0b10000,
        ],
    ),
    (
        'γ',
        [
            0b00000, 0b00000, 0b10001, 0b10001, 0b01010, 0b01010, 0b00100, 0b00100, 0b00100,
        ],
    ),
    (
        'δ',
        [
            0b01100, 0b10000, 0b01000, 0b01100, 0b10010, 0b10010, 0b01100, 0b00000, 0b00000,
        ],
    ),
    (
        'ε',
        [
            0b00000, 0b00000, 0b01110, 0b10000, 0b01100, 0b10000, 0b01110, 0b00000, 0b00000,
        ],
    ),
    (
        'η',
        [
            0b00000, 0b00000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0b00001, 0b00001,
        ],
    ),
    (
        'θ',
        [
            0b01100, 0b10010, 0b10010, 0b11110, 0b10010, 0b10010, 0b01100, 0b00000, 0b00000,
        ],
    ),
    (
        'λ',
        [
            0b10000, 0b01000, 0b01000, 0b00100, 0b01010, 0b10010, 0b10001, 0b00000, 0b00000,
        ],
    ),
    (
        'μ',
        [
            0b00000, 0b00000, 0b10010, 0b10010, 0b10010, 0b10010, 0b11101, 0b10000, 0b10000,
        ],
    ),
    (
        'π',
        [
            0b00000, 0b00000, 0b11111, 0b01010, 0b01010, 0b01010, 0b01001, 0b00000, 0b00000,
        ],
    ),
    (
        'ρ',
        [
            0b00000, 0b00000, 0b01110, 0b10001, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000,
        ],
    ),
    (
        'σ',
        [
            0b00000, 0b00000, 0b01111, 0b10010, 0b10010, 0b10010, 0b01100, 0b00000, 0b00000,
        ],
    ),
    (
        'τ',
        [
            0b00000, 0b00000, 0b11111, 0b00100, 0b00100, 0b00100, 0b00011, 0b00000, 0b00000,
        ],
    ),
    (
        'φ',
        [
            0b00000, 0b00100, 0b01110, 0b10101, 0b10101, 0b01110, 0b00100, 0b00100, 0b00000,
        ],
    ),
    (
        'ω',
        [
            0b00000, 0b00000, 0b01010, 0b10001, 0b10101, 0b10101, 0b01010, 0b00000, 0b00000,
        ],
    ),
    (
        'Δ',
        [
            0b00100, 0b00100, 0b01010, 0b01010, 0b10001, 0b10001, 0b11111, 0b00000, 0b00000,
        ],
    ),
    (
        'Σ',
        [
            0b11111, 0b10000, 0b01000, 0b00100, 0b01000, 0b10000, 0b11111, 0b00000, 0b00000,
        ],
    ),
    (
        'Ω',
        [
            0b01110, 0b10001, 0b10001, 0b10001, 0b01010, 0b01010, 0b11011, 0b00000, 0b00000,
        ],
    ),
    (
        '∇',
        [
            0b11111, 0b10001, 0b10001, 0b01010, 0b01010, 0b00100, 0b00100, 0b00000, 0b00000,
        ],
    ),
    (
        '∂',
        [
            0b01100, 0b00010, 0b00001, 0b01111, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000,
        ],
    ),
    (
        '±',
        [
            0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000, 0b11111, 0b00000, 0b00000,
        ],
    ),
    (
        '×',
        [
            0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b00000, 0b00000, 0b00000,
        ],
    ),
    (
        '·',
        [
            0b00000, 0b00000, 0b00000, 0b00100, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
        ],
    ),
    (
        '≈',
        [
            0b00000, 0b01101, 0b10110, 0b00000, 0b01101, 0b10110, 0b00000, 0b00000, 0b00000,
        ],
    ),
    (
        '→',
        [
            0b00000, 0b00100, 0b00010, 0b11111, 0b00010, 0b00100, 0b00000, 0b00000, 0b00000,
        ],
    ),
    (
        '∞',
        [
            0b00000, 0b00000, 0b01010, 0b10101, 0b10101, 0b01010, 0b00000, 0b00000, 0b00000,
        ],
    ),
    (
        '²',
        [
            0b01100, 0b00010, 0b00100, 0b01110, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
        ],
    ),
    (
        '°',
        [
            0b01100, 0b10010, 0b01100, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
        ],
    ),
    (
        '≤',
        [
            0b00010, 0b00100, 0b01000, 0b00100, 0b00010, 0b00000, 0b11110, 0b00000, 0b00000,
        ],
    ),
    (
        '≥',
        [
            0b01000, 0b00100, 0b00010, 0b00100, 0b01000, 0b00000, 0b01111, 0b00000, 0b00000,
        ],
    ),
    (
        '−',
        [
            0b00000, 0b00000, 0b00000, 0b11110, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000,
        ],
    ),
];

/// Looks up the glyph for `c`; `None` means it is drawn as a box.
pub(super) fn glyph(c: char) -> Option<&'static Glyph> {
    let code = c as u32;
    if (32..127).contains(&code) {
        return ASCII.get((code - 32) as usize);
    }
    EXTRA.iter().find(|(ch, _)| *ch == c).map(|(_, g)| g)
}

/// Horizontal ink extent `(first column, width)` of a glyph; blank glyphs get width 2.
fn ink_extent(g: &Glyph) -> (i64, i64) {
    let bits = g.iter().fold(0u8, |acc, row| acc | row) & 0b11111;
    if bits == 0 {
        return (0, 2);
    }
    let left = i64::from(bits.leading_zeros()) - 3;
    let right = CELL_W - i64::from(bits.trailing_zeros());
    (left, right - left)
}

/// A glyph placed by [`layout`], relative to the top of the text's cap line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Placed {
    /// Character (drawn as a box when it has no glyph).
    pub ch: char,
    /// Left edge of the ink in screen pixels.
    pub x: i64,
    /// Top of the glyph cell in screen pixels.
    pub y: i64,
    /// Integer magnification.
    pub scale: u32,
    /// First ink column of the glyph in font pixels.
    pub col0: i64,
}

/// Result of [`layout`]: placed glyphs and the overall extent.
#[derive(Clone, Debug, Default)]
pub(super) struct Layout {
    /// Placed glyphs.
    pub glyphs: Vec<Placed>,
    /// Total advance width in screen pixels.
    pub width: i64,
    /// Topmost row used (0 or negative when superscripts rise above the cap line).
    pub top: i64,
    /// One past the lowest ink row, descenders included.
    pub bottom: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Normal,
    Sub,
    Sup,
}

/// Maps a `\name` inside math spans to its glyph character.
fn named_symbol(name: &str) -> Option<char> {
    let c = match name {
        "alpha" => 'α',
        "beta" => 'β',
        "gamma" => 'γ',
        "delta" => 'δ',
        "epsilon" | "varepsilon" => 'ε',
        "eta" => 'η',
        "theta" => 'θ',
        "lambda" => 'λ',
        "mu" => 'μ',
        "pi" => 'π',
        "rho" => 'ρ',
        "sigma" => 'σ',
        "tau" => 'τ',
        "phi" | "varphi" => 'φ',
        "omega" => 'ω',
        "Delta" => 'Δ',
        "Sigma" => 'Σ',
        "Omega" => 'Ω',
        "nabla" => '∇',
        "partial" => '∂',
        "pm" => '±',
        "times" => '×',
        "cdot" => '·',
        "approx" => '≈',
        "to" | "rightarrow" => '→',
        "infty" => '∞',
        "leq" | "le" => '≤',
        "geq" | "ge" => '≥',
        "circ" => '°',
        _ => return None,
    };
    Some(c)
}

/// Splits `text` into characters tagged with their script level, interpreting
/// `$…$` math spans.
fn tokens(text: &str) -> Vec<(char, Script)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    let mut math = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && (math || chars[i + 1..].contains(&'$')) {
            math = !math;
            i += 1;
            continue;
        }
        if !math {
            out.push((c, Script::Normal));
            i += 1;
            continue;
        }
        match c {
            '_' | '^' => {
                let script = if c == '_' { Script::Sub } else { Script::Sup };
                i += 1;
                let group: Vec<char> = if chars.get(i) == Some(&'{') {
                    let start = i + 1;
                    let end = chars[start..]
                        .iter()
                        .position(|&ch| ch == '}')
                        .map_or(chars.len(), |p| start + p);
                    i = (end + 1).min(chars.len());
                    chars[start..end].to_vec()
                } else if chars.get(i) == Some(&'\\') {
                    let (sym, next) = command(&chars, i);
                    i = next;
                    sym
                } else if let Some(&ch) = chars.get(i) {
                    i += 1;
                    vec![ch]
                } else {
                    Vec::new()
                };
                let mut j = 0;
                while j < group.len() {
                    if group[j] == '\\' {
                        let (sym, next) = command(&group, j);
                        out.extend(sym.into_iter().map(|ch| (ch, script)));
                        j = next;
                    } else {
                        out.push((group[j], script));
                        j += 1;
                    }
                }
            }
            '\\' => {
                let (sym, next) = command(&chars, i);
                out.extend(sym.into_iter().map(|ch| (ch, Script::Normal)));
                i = next;
            }
            _ => {
                out.push((c, Script::Normal));
                i += 1;
            }
        }
    }
    out
}

/// Parses a `\name` command starting at `chars[i] == '\\'`; returns its characters and
/// the index after it. Unknown names are kept literally.
fn command(chars: &[char], i: usize) -> (Vec<char>, usize) {
    let start = i + 1;
    let len = chars[start..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if len == 0 {
        // Escaped single character such as `\$` or `\_`.
        return match chars.get(start) {
            Some(&c) => (vec![c], start + 1),
            None => (vec!['\\'], start),
        };
    }
    let name: String = chars[start..start + len].iter().collect();
    match named_symbol(&name) {
        Some(c) => (vec![c], start + len),
        None => (chars[i..start + len].to_vec(), start + len),
    }
}

/// Lays out `text` at integer `scale` (clamped to at least 1), with `y = 0` at the top
/// of the cap line.
pub(super) fn layout(text: &str, scale: u32) -> Layout {
    let scale = scale.max(1);
    let s = i64::from(scale);
    let mut out = Layout {
        glyphs: Vec::new(),
        width: 0,
        top: 0,
        bottom: CAP * s,
    };
    let mut x = 0i64;
    for (ch, script) in tokens(text) {
        let (gs, dy) = match script {
            Script::Normal => (scale, 0),
            Script::Sub => {
                let gs = (scale - 1).max(1);
                (gs, CAP * s - 4 * i64::from(gs))
            }
            Script::Sup => {
                let gs = (scale - 1).max(1);
                (gs, -3 * i64::from(gs))
            }
        };
        let g = i64::from(gs);
        let (col0, w, descends) = match glyph(ch) {
            Some(gl) => {
                let (c0, w) = ink_extent(gl);
                (c0, w, gl[7] | gl[8] != 0)
            }
            None => (0, CELL_W, false),
        };
        out.glyphs.push(Placed {
            ch,
            x,
            y: dy,
            scale: gs,
            col0,
        });
        out.top = out.top.min(dy);
        let bottom = dy + if descends { CELL_H } else { CAP } * g;
        out.bottom = out.bottom.max(bottom);
        x += (w + 1) * g;
    }
    // Drop the trailing inter-glyph gap.
    out.width = if out.glyphs.is_empty() { 0 } else { x - s };
    out
}

/// Width in pixels of `text` at `scale`.
pub(super) fn text_width(text: &str, scale: u32) -> i64 {
    layout(text, scale).width
}

/// Fits `text` into `max_w` pixels: tries `scale`, then smaller scales, then truncates
/// with `..`. Returns the text to draw and its scale.
pub(super) fn fit(text: &str, scale: u32, max_w: i64) -> (String, u32) {
    let mut s = scale.max(1);
    loop {
        if text_width(text, s) <= max_w {
            return (text.to_string(), s);
        }
        if s == 1 {
            break;
        }
        s -= 1;
    }
    let chars: Vec<char> = text.chars().collect();
    for n in (0..chars.len()).rev() {
        let t: String = chars[..n].iter().collect::<String>() + "..";
        if text_width(&t, 1) <= max_w {
            return (t, 1);
        }
    }
    (String::new(), 1)
}

/// Calls `plot(x, y)` for every ink pixel of a placed glyph (font pixels, before scaling),
/// relative to the glyph's ink origin. Unknown glyphs yield a 5×7 box outline.
pub(super) fn for_each_pixel(p: &Placed, mut plot: impl FnMut(i64, i64)) {
    match glyph(p.ch) {
        Some(g) => {
            for (row, bits) in (0i64..).zip(g.iter()) {
                for col in 0..CELL_W {
                    if bits & (0b10000 >> col) != 0 {
                        plot(col - p.col0, row);
                    }
                }
            }
        }
        None => {
            for row in 0..CAP {
                for col in 0..CELL_W {
                    if row == 0 || row == CAP - 1 || col == 0 || col == CELL_W - 1 {
                        plot(col, row);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printable_ascii_has_a_glyph() {
        for c in ' '..='~' {
            assert!(glyph(c).is_some(), "{c:?}");
        }
        assert!(glyph('θ').is_some());
        assert!(glyph('\u{2603}').is_none());
    }

    #[test]
    fn glyphs_fit_in_five_columns() {
        for g in ASCII.iter().chain(EXTRA.iter().map(|(_, g)| g)) {
            assert!(g.iter().all(|r| *r < 32));
        }
    }

    #[test]
    fn widths_are_proportional_and_scale() {
        assert!(text_width("i", 1) < text_width("m", 1));
        assert_eq!(text_width("", 1), 0);
        assert_eq!(text_width("mm", 2), 2 * text_width("mm", 1));
        assert_eq!(text_width("A", 1), 5);
    }

    #[test]
    fn math_spans_use_greek_and_scripts() {
        let l = layout("$\\theta_1$", 2);
        assert_eq!(l.glyphs.len(), 2);
        assert_eq!(l.glyphs[0].ch, 'θ');
        assert_eq!(l.glyphs[1].ch, '1');
        assert_eq!(l.glyphs[1].scale, 1);
        assert!(l.glyphs[1].y > 0);
        let sup = layout("$x^{2}$", 1);
        assert!(sup.glyphs[1].y < 0);
        assert!(sup.top < 0);
    }

    #[test]
    fn lone_dollar_and_underscores_outside_math_are_literal() {
        let chars: Vec<char> = layout("cost $5 a_b", 1)
            .glyphs
            .iter()
            .map(|p| p.ch)
            .collect();
        assert_eq!(chars.iter().collect::<String>(), "cost $5 a_b");
        let unknown: String = layout("$\\foo$", 1).glyphs.iter().map(|p| p.ch).collect();
        assert_eq!(unknown, "\\foo");
    }

    #[test]
    fn fit_shrinks_then_truncates() {
        assert_eq!(fit("abc", 2, 100), ("abc".to_string(), 2));
        assert_eq!(fit("abcdef", 2, text_width("abcdef", 1)).1, 1);
        let (t, s) = fit("a long title here", 2, 30);
        assert!(t.ends_with("..") && s == 1 && text_width(&t, 1) <= 30);
        assert_eq!(fit("abc", 1, 0).0, "");
    }

    #[test]
    fn unknown_char_is_a_box() {
        let l = layout("\u{2603}", 1);
        let mut n = 0;
        for_each_pixel(&l.glyphs[0], |_, _| n += 1);
        assert_eq!(n, 2 * 5 + 2 * 5);
    }
}
