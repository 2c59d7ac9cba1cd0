/*===- checkpoint.c - safetensors checkpoints in a memory buffer ----------===//
 *
 * Implements checkpoint.h without heap or stdio. The writer emits exactly
 * the bytes of the host's writer (runtime/src/checkpoint.cpp); a test
 * (examples/device/device_runtime_test.cc) compares the two byte for byte. The
 * reader is a small JSON scanner that re-reads the header instead of
 * building a tree: a model's state table is short, and no allocation is
 * worth more on a microcontroller than the microseconds saved.
 *
 *===----------------------------------------------------------------------===*/

#include "kiln/device/checkpoint.h"
#include "kiln/device/status.h"

#include <string.h>

/*===--- State table ------------------------------------------------------===*/

static const char *dtype_name(int32_t dtype) {
  switch (dtype) {
  case KILN_F32: return "F32";
  case KILN_F64: return "F64";
  case KILN_I32: return "I32";
  case KILN_I64: return "I64";
  default: return NULL;
  }
}

static uint64_t dtype_size(int32_t dtype) {
  return dtype == KILN_F64 || dtype == KILN_I64 ? 8 : dtype_name(dtype) ? 4 : 0;
}

static int is_state(const kiln_state_entry *e) { return !(e->flags & KILN_STATE_OBSERVATION); }

/* Byte size of state entry \p e, or 0 with *ok cleared on overflow. */
static uint64_t entry_bytes(const kiln_state_entry *e, int *ok) {
  uint64_t n = dtype_size(e->dtype);
  int32_t d;
  for (d = 0; d < e->rank; ++d) {
    uint64_t dim = (uint64_t)e->shape[d];
    if (e->shape[d] < 0 || (dim && n > UINT64_MAX / 2 / dim)) {
      *ok = 0;
      return 0;
    }
    n *= dim;
  }
  return n;
}

/* The checks the host's validateStateTable makes: a malformed generated
 * header must give an error, not an out-of-bounds copy. */
static int check_state_table(const kiln_model_info *m) {
  int32_t i, j;
  if (!m || m->num_state <= 0 || !m->state)
    return KILN_DEVICE_INVALID_ARGUMENT;
  for (i = 0; i < m->num_state; ++i) {
    const kiln_state_entry *e = &m->state[i];
    int ok = 1;
    uint64_t bytes;
    if (!e->name || !*e->name || strcmp(e->name, "__metadata__") == 0 || !dtype_name(e->dtype) ||
        e->rank < 0 || (e->rank > 0 && !e->shape))
      return KILN_DEVICE_INVALID_ARGUMENT;
    bytes = entry_bytes(e, &ok);
    if (!ok || e->offset > m->arena_bytes || bytes > m->arena_bytes - e->offset)
      return KILN_DEVICE_INVALID_ARGUMENT;
    for (j = 0; j < i; ++j)
      if (strcmp(m->state[j].name, e->name) == 0)
        return KILN_DEVICE_INVALID_ARGUMENT;
  }
  return KILN_DEVICE_OK;
}

/*===--- Writer -----------------------------------------------------------===*/

/* Counts every byte, stores those that fit: one pass gives the size and,
 * with a large enough buffer, the checkpoint. */
typedef struct sink {
  unsigned char *buffer;
  size_t capacity, length;
} sink;

static void put_bytes(sink *s, const void *data, size_t n) {
  if (s->length <= s->capacity && n <= s->capacity - s->length && n)
    memcpy(s->buffer + s->length, data, n);
  s->length += n;
}

static void put_char(sink *s, char c) { put_bytes(s, &c, 1); }
static void put_text(sink *s, const char *text) { put_bytes(s, text, strlen(text)); }

static void put_uint(sink *s, uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    put_char(s, digits[--n]);
}

/* A JSON string as the host's appendQuoted writes it. */
static void put_quoted(sink *s, const char *text) {
  static const char kHex[] = "0123456789abcdef";
  const unsigned char *c;
  put_char(s, '"');
  for (c = (const unsigned char *)text; *c; ++c) {
    if (*c == '"' || *c == '\\') {
      put_char(s, '\\');
      put_char(s, (char)*c);
    } else if (*c < 0x20) {
      put_text(s, "\\u00");
      put_char(s, kHex[*c >> 4]);
      put_char(s, kHex[*c & 15]);
    } else {
      put_char(s, (char)*c);
    }
  }
  put_char(s, '"');
}

/* The smallest metadata key greater than \p after (NULL: the smallest), with
 * "format" standing for itself when the caller gave none: the host keeps
 * metadata in a std::map, i.e. sorted by bytes as strcmp compares them. */
static const kiln_metadata_entry *next_metadata(const kiln_metadata_entry *meta, int32_t n,
                                                const kiln_metadata_entry *format,
                                                const char *after) {
  const kiln_metadata_entry *best = NULL;
  int32_t i;
  for (i = 0; i <= n; ++i) {
    const kiln_metadata_entry *e = i < n ? &meta[i] : format;
    if (!e || (after && strcmp(e->key, after) <= 0))
      continue;
    if (!best || strcmp(e->key, best->key) < 0)
      best = e;
  }
  return best;
}

static int write_checkpoint(const kiln_model_info *m, const void *arena,
                            const kiln_metadata_entry *meta, int32_t num_meta, sink *s) {
  static const kiln_metadata_entry kFormat = {"format", "pt"};
  const kiln_metadata_entry *format = &kFormat, *e;
  uint64_t offset = 0, header_length;
  size_t header_start;
  int32_t i, j, d;
  int first = 1, status = check_state_table(m);
  if (status)
    return status;
  if (num_meta < 0 || (num_meta > 0 && !meta))
    return KILN_DEVICE_INVALID_ARGUMENT;
  for (i = 0; i < num_meta; ++i) {
    if (!meta[i].key || !meta[i].value)
      return KILN_DEVICE_INVALID_ARGUMENT;
    if (strcmp(meta[i].key, "format") == 0)
      format = NULL;
    for (j = 0; j < i; ++j)
      if (strcmp(meta[i].key, meta[j].key) == 0)
        return KILN_DEVICE_INVALID_ARGUMENT;
  }

  put_bytes(s, "\0\0\0\0\0\0\0\0", 8); /* the header length, patched below */
  header_start = s->length;
  put_text(s, "{\"__metadata__\":{");
  for (e = next_metadata(meta, num_meta, format, NULL); e;
       e = next_metadata(meta, num_meta, format, e->key)) {
    if (!first)
      put_char(s, ',');
    first = 0;
    put_quoted(s, e->key);
    put_char(s, ':');
    put_quoted(s, e->value);
  }
  put_char(s, '}');
  for (i = 0; i < m->num_state; ++i) {
    const kiln_state_entry *t = &m->state[i];
    int ok = 1;
    uint64_t bytes = entry_bytes(t, &ok);
    if (!is_state(t))
      continue;
    put_char(s, ',');
    put_quoted(s, t->name);
    put_text(s, ":{\"dtype\":\"");
    put_text(s, dtype_name(t->dtype));
    put_text(s, "\",\"shape\":[");
    for (d = 0; d < t->rank; ++d) {
      if (d)
        put_char(s, ',');
      put_uint(s, (uint64_t)t->shape[d]);
    }
    put_text(s, "],\"data_offsets\":[");
    put_uint(s, offset);
    put_char(s, ',');
    put_uint(s, offset + bytes);
    put_text(s, "]}");
    offset += bytes;
  }
  put_char(s, '}');
  /* Pad with spaces so the data starts 8-byte aligned, as safetensors does. */
  while ((s->length - header_start) % 8)
    put_char(s, ' ');
  header_length = s->length - header_start;
  if (s->length <= s->capacity)
    for (i = 0; i < 8; ++i)
      s->buffer[header_start - 8 + (size_t)i] = (unsigned char)(header_length >> (8 * i));
  for (i = 0; i < m->num_state; ++i) {
    int ok = 1;
    size_t bytes = (size_t)entry_bytes(&m->state[i], &ok);
    if (!is_state(&m->state[i]))
      continue;
    if (arena)
      put_bytes(s, (const char *)arena + m->state[i].offset, bytes);
    else
      s->length += bytes;
  }
  return KILN_DEVICE_OK;
}

int kiln_checkpoint_size(const kiln_model_info *model, const kiln_metadata_entry *metadata,
                         int32_t num_metadata, size_t *out_bytes) {
  sink s = {NULL, 0, 0};
  /* Nothing is stored with capacity 0, so no arena is read. */
  int status = write_checkpoint(model, NULL, metadata, num_metadata, &s);
  if (!status && out_bytes)
    *out_bytes = s.length;
  return out_bytes ? status : KILN_DEVICE_INVALID_ARGUMENT;
}

int kiln_checkpoint_save(const kiln_model_info *model, const void *arena,
                         const kiln_metadata_entry *metadata, int32_t num_metadata,
                         void *buffer, size_t capacity, size_t *out_bytes) {
  sink s;
  int status;
  if (!arena || !out_bytes || (!buffer && capacity))
    return KILN_DEVICE_INVALID_ARGUMENT;
  s.buffer = (unsigned char *)buffer;
  s.capacity = capacity;
  s.length = 0;
  status = write_checkpoint(model, arena, metadata, num_metadata, &s);
  if (status)
    return status;
  *out_bytes = s.length;
  return s.length <= capacity ? KILN_DEVICE_OK : KILN_DEVICE_BUFFER_TOO_SMALL;
}

/*===--- Reader -----------------------------------------------------------===*/

/* A position in the JSON header. Every function returns 1 on success and 0
 * on malformed input, leaving `at` somewhere inside the header. */
typedef struct cursor {
  const char *at, *end;
} cursor;

enum { kMaxDepth = 8 };

static void skip_space(cursor *c) {
  while (c->at < c->end && (*c->at == ' ' || *c->at == '\t' || *c->at == '\n' || *c->at == '\r'))
    ++c->at;
}

static int expect(cursor *c, char ch) {
  skip_space(c);
  if (c->at >= c->end || *c->at != ch)
    return 0;
  ++c->at;
  return 1;
}

/* Opens a JSON object or array: consumes \p open and, if the list is empty,
 * its \p close; *more says whether an element follows. */
static int list_begin(cursor *c, char open, char close, int *more) {
  if (!expect(c, open))
    return 0;
  skip_space(c);
  *more = !(c->at < c->end && *c->at == close);
  if (!*more)
    ++c->at;
  return 1;
}

/* After an element: consumes ',' (*more = 1) or \p close (*more = 0). */
static int list_next(cursor *c, char close, int *more) {
  skip_space(c);
  *more = c->at < c->end && *c->at == ',';
  if (*more) {
    ++c->at;
    return 1;
  }
  return expect(c, close);
}

static int hex_digit(char ch) {
  return ch >= '0' && ch <= '9'   ? ch - '0'
         : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
         : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                  : -1;
}

/* Where a decoded string goes: compared with `compare` (if not NULL) and
 * copied to `out` (if not NULL, NUL-terminated when it fits). */
typedef struct string_target {
  const char *compare;
  size_t matched; /* bytes of `compare` equal so far; SIZE_MAX after a mismatch */
  char *out;
  size_t capacity, length;
} string_target;

static void emit(string_target *t, unsigned char byte) {
  if (t->compare && t->matched != (size_t)-1)
    t->matched = t->compare[t->matched] != '\0' && t->compare[t->matched] == (char)byte
                     ? t->matched + 1
                     : (size_t)-1;
  if (t->out && t->length + 1 < t->capacity)
    t->out[t->length] = (char)byte;
  ++t->length;
}

static void emit_code_point(string_target *t, uint32_t cp) {
  if (cp < 0x80) {
    emit(t, (unsigned char)cp);
  } else if (cp < 0x800) {
    emit(t, (unsigned char)(0xC0 | cp >> 6));
    emit(t, (unsigned char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    emit(t, (unsigned char)(0xE0 | cp >> 12));
    emit(t, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
    emit(t, (unsigned char)(0x80 | (cp & 0x3F)));
  } else {
    emit(t, (unsigned char)(0xF0 | cp >> 18));
    emit(t, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
    emit(t, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
    emit(t, (unsigned char)(0x80 | (cp & 0x3F)));
  }
}

static int read_hex4(cursor *c, uint32_t *out) {
  int i;
  *out = 0;
  for (i = 0; i < 4; ++i, ++c->at) {
    int v = c->at < c->end ? hex_digit(*c->at) : -1;
    if (v < 0)
      return 0;
    *out = *out * 16 + (uint32_t)v;
  }
  return 1;
}

/* Decodes the JSON string at the cursor into \p t (which may be NULL). */
static int read_string(cursor *c, string_target *t) {
  string_target ignored = {NULL, 0, NULL, 0, 0};
  if (!t)
    t = &ignored;
  if (!expect(c, '"'))
    return 0;
  while (c->at < c->end) {
    unsigned char ch = (unsigned char)*c->at++;
    uint32_t cp, low;
    if (ch == '"') {
      if (t->out && t->capacity)
        t->out[t->length < t->capacity ? t->length : t->capacity - 1] = '\0';
      return 1;
    }
    if (ch < 0x20)
      return 0;
    if (ch != '\\') {
      emit(t, ch);
      continue;
    }
    if (c->at >= c->end)
      return 0;
    switch (*c->at++) {
    case '"': emit(t, '"'); break;
    case '\\': emit(t, '\\'); break;
    case '/': emit(t, '/'); break;
    case 'b': emit(t, '\b'); break;
    case 'f': emit(t, '\f'); break;
    case 'n': emit(t, '\n'); break;
    case 'r': emit(t, '\r'); break;
    case 't': emit(t, '\t'); break;
    case 'u':
      if (!read_hex4(c, &cp) || (cp >= 0xDC00 && cp <= 0xDFFF))
        return 0;
      if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
        if (c->end - c->at < 2 || c->at[0] != '\\' || c->at[1] != 'u')
          return 0;
        c->at += 2;
        if (!read_hex4(c, &low) || low < 0xDC00 || low > 0xDFFF)
          return 0;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      emit_code_point(t, cp);
      break;
    default:
      return 0;
    }
  }
  return 0;
}

/* Whether the string at the cursor equals \p name (the cursor moves past it). */
static int read_string_equal(cursor *c, const char *name, int *equal) {
  string_target t = {NULL, 0, NULL, 0, 0};
  t.compare = name;
  if (!read_string(c, &t))
    return 0;
  *equal = t.matched != (size_t)-1 && name[t.matched] == '\0';
  return 1;
}

/* A non-negative integer that fits in int64 (the only numbers a safetensors
 * header holds). */
static int read_index(cursor *c, uint64_t *out) {
  int digits = 0;
  skip_space(c);
  *out = 0;
  while (c->at < c->end && *c->at >= '0' && *c->at <= '9') {
    if (*out > ((uint64_t)INT64_MAX - 9) / 10)
      return 0;
    *out = *out * 10 + (uint64_t)(*c->at++ - '0');
    ++digits;
  }
  return digits > 0;
}

static int skip_value(cursor *c, int depth);

/* Walks `{"k": v, ...}` or `[v, ...]` (the opening bracket consumed). */
static int skip_container(cursor *c, char open, char close, int depth) {
  int more;
  if (!list_begin(c, open, close, &more))
    return 0;
  while (more) {
    if (close == '}' && (!read_string(c, NULL) || !expect(c, ':')))
      return 0;
    if (!skip_value(c, depth + 1) || !list_next(c, close, &more))
      return 0;
  }
  return 1;
}

static int skip_literal(cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->at) < n || memcmp(c->at, word, n) != 0)
    return 0;
  c->at += n;
  return 1;
}

static int skip_value(cursor *c, int depth) {
  skip_space(c);
  if (c->at >= c->end || depth > kMaxDepth)
    return 0;
  switch (*c->at) {
  case '"':
    return read_string(c, NULL);
  case '{':
    return skip_container(c, '{', '}', depth);
  case '[':
    return skip_container(c, '[', ']', depth);
  case 't':
    return skip_literal(c, "true");
  case 'f':
    return skip_literal(c, "false");
  case 'n':
    return skip_literal(c, "null");
  default: {
    const char *start = c->at;
    while (c->at < c->end && ((*c->at >= '0' && *c->at <= '9') || *c->at == '-' ||
                              *c->at == '+' || *c->at == '.' || *c->at == 'e' || *c->at == 'E'))
      ++c->at;
    return c->at > start;
  }
  }
}

/* The header of a checkpoint buffer: the JSON text and the data after it. */
typedef struct header {
  const char *json, *json_end;
  const unsigned char *data;
  uint64_t data_bytes;
} header;

static int read_header(const void *buffer, size_t bytes, header *h) {
  const unsigned char *b = (const unsigned char *)buffer;
  uint64_t n = 0;
  int i;
  if (!buffer || bytes < 8)
    return 0;
  for (i = 0; i < 8; ++i)
    n |= (uint64_t)b[i] << (8 * i);
  if (n < 2 || n > bytes - 8 || b[8] != '{')
    return 0;
  h->json = (const char *)b + 8;
  h->json_end = h->json + n;
  h->data = b + 8 + n;
  h->data_bytes = bytes - 8 - n;
  return 1;
}

/* Reads the JSON array of non-negative integers at the cursor into
 * \p values (at most \p capacity of them; more is malformed) and sets \p count. */
static int read_index_array(cursor *c, uint64_t *values, int32_t capacity, int32_t *count) {
  int more;
  *count = 0;
  if (!list_begin(c, '[', ']', &more))
    return 0;
  while (more) {
    if (*count >= capacity || !read_index(c, &values[*count]))
      return 0;
    ++*count;
    if (!list_next(c, ']', &more))
      return 0;
  }
  return 1;
}

enum { kMaxRank = 16 };

/* The tensor entry at the cursor, checked against state entry \p e: its
 * dtype and shape must be e's and its data_offsets [begin, end) must hold
 * e's bytes inside the data section. Other fields are ignored, as the
 * safetensors reader does. */
static int read_tensor(cursor *c, const kiln_state_entry *e, const header *h, uint64_t *begin) {
  int have_dtype = 0, have_shape = 0, have_offsets = 0, ok = 1;
  uint64_t values[kMaxRank];
  int32_t count, d;
  int more;
  if (!list_begin(c, '{', '}', &more))
    return 0;
  while (more) {
    char key[16];
    string_target t = {NULL, 0, NULL, 0, 0};
    t.out = key;
    t.capacity = sizeof key;
    if (!read_string(c, &t) || !expect(c, ':'))
      return 0;
    if (t.length >= sizeof key) {
      if (!skip_value(c, 1))
        return 0;
    } else if (strcmp(key, "dtype") == 0) {
      int equal;
      if (!read_string_equal(c, dtype_name(e->dtype), &equal) || !equal)
        return 0;
      have_dtype = 1;
    } else if (strcmp(key, "shape") == 0) {
      if (!read_index_array(c, values, kMaxRank, &count) || count != e->rank)
        return 0;
      for (d = 0; d < count; ++d)
        if (values[d] != (uint64_t)e->shape[d])
          return 0;
      have_shape = 1;
    } else if (strcmp(key, "data_offsets") == 0) {
      if (!read_index_array(c, values, 2, &count) || count != 2 || values[0] > values[1] ||
          values[1] > h->data_bytes || values[1] - values[0] != entry_bytes(e, &ok))
        return 0;
      *begin = values[0];
      have_offsets = 1;
    } else if (!skip_value(c, 1)) {
      return 0;
    }
    if (!list_next(c, '}', &more))
      return 0;
  }
  return have_dtype && have_shape && have_offsets;
}

/* The data_offsets end of the tensor entry at the cursor, whatever its name
 * (used to check that the data section has no unexpected bytes). */
static int read_tensor_end(cursor *c, uint64_t *end) {
  int more;
  *end = 0;
  if (!list_begin(c, '{', '}', &more))
    return 0;
  while (more) {
    int is_offsets;
    uint64_t values[2];
    int32_t count;
    if (!read_string_equal(c, "data_offsets", &is_offsets) || !expect(c, ':'))
      return 0;
    if (is_offsets) {
      if (!read_index_array(c, values, 2, &count) || count != 2)
        return 0;
      *end = values[1];
    } else if (!skip_value(c, 1)) {
      return 0;
    }
    if (!list_next(c, '}', &more))
      return 0;
  }
  return 1;
}

/* Visits the members of the header object: for each key calls \p visit with
 * the cursor at the key; visit must consume the key and its value. */
typedef int (*member_visitor)(cursor *c, void *context);

static int for_each_member(const header *h, member_visitor visit, void *context) {
  cursor c;
  int more;
  c.at = h->json;
  c.end = h->json_end;
  if (!list_begin(&c, '{', '}', &more))
    return 0;
  while (more)
    if (!visit(&c, context) || !list_next(&c, '}', &more))
      return 0;
  skip_space(&c); /* the padding */
  return c.at == c.end;
}

/* Walks the "__metadata__" object at the cursor (string values only, as the
 * format requires), copying the value of \p key (if not NULL) to \p value
 * and setting *found. */
static int read_metadata(cursor *c, const char *key, string_target *value, int *found) {
  int more, equal = 0;
  if (!list_begin(c, '{', '}', &more))
    return 0;
  while (more) {
    if (key ? !read_string_equal(c, key, &equal) : !read_string(c, NULL))
      return 0;
    if (!expect(c, ':') || !read_string(c, equal ? value : NULL))
      return 0;
    *found |= equal;
    if (!list_next(c, '}', &more))
      return 0;
  }
  return 1;
}

/* Pass 1: every member is the metadata or one of the model's state tensors
 * (checked), and the data section ends where the last tensor ends. */
typedef struct census {
  const kiln_model_info *model;
  const header *h;
  int32_t tensors;   /* members naming a state tensor */
  uint64_t data_end; /* largest data_offsets end */
} census;

static int is_metadata_key(cursor *c, int *is_metadata) {
  cursor probe = *c;
  return read_string_equal(&probe, "__metadata__", is_metadata);
}

static int count_member(cursor *c, void *context) {
  census *k = (census *)context;
  int is_metadata, equal = 0;
  int32_t i;
  cursor key = *c;
  uint64_t begin, end;
  if (!is_metadata_key(c, &is_metadata))
    return 0;
  if (is_metadata) {
    int found = 0;
    return read_string(c, NULL) && expect(c, ':') && read_metadata(c, NULL, NULL, &found);
  }
  for (i = 0; i < k->model->num_state && !equal; ++i) {
    *c = key;
    if (!is_state(&k->model->state[i]) || !read_string_equal(c, k->model->state[i].name, &equal))
      continue;
  }
  if (!equal || !expect(c, ':'))
    return 0; /* a tensor the model does not have */
  key = *c;
  if (!read_tensor(c, &k->model->state[i - 1], k->h, &begin))
    return 0;
  if (!read_tensor_end(&key, &end))
    return 0;
  if (end > k->data_end)
    k->data_end = end;
  ++k->tensors;
  return 1;
}

/* Pass 2: finds the member named `name` and its data. */
typedef struct lookup {
  const kiln_state_entry *entry;
  const header *h;
  int32_t found;
  uint64_t begin;
} lookup;

static int find_member(cursor *c, void *context) {
  lookup *l = (lookup *)context;
  int equal;
  if (!read_string_equal(c, l->entry->name, &equal) || !expect(c, ':'))
    return 0;
  if (!equal)
    return skip_value(c, 1);
  ++l->found;
  return read_tensor(c, l->entry, l->h, &l->begin);
}

/* Whether state entry \p e is in the header exactly once, well-formed; sets
 * l->begin to its data. */
static int locate(const header *h, const kiln_state_entry *e, lookup *l) {
  l->entry = e;
  l->h = h;
  l->found = 0;
  return for_each_member(h, find_member, l) && l->found == 1;
}

int kiln_checkpoint_load(const kiln_model_info *model, void *arena, const void *buffer,
                         size_t bytes) {
  header h;
  census k;
  int32_t i, wanted = 0;
  int status = check_state_table(model);
  if (status)
    return status;
  if (!arena)
    return KILN_DEVICE_INVALID_ARGUMENT;
  if (!read_header(buffer, bytes, &h))
    return KILN_DEVICE_BAD_CHECKPOINT;
  k.model = model;
  k.h = &h;
  k.tensors = 0;
  k.data_end = 0;
  if (!for_each_member(&h, count_member, &k) || k.data_end != h.data_bytes)
    return KILN_DEVICE_BAD_CHECKPOINT;
  /* Each wanted tensor at least once and as many members as wanted tensors:
   * each exactly once (a duplicate key would be counted twice). */
  for (i = 0; i < model->num_state; ++i) {
    lookup l;
    if (!is_state(&model->state[i]))
      continue;
    ++wanted;
    if (!locate(&h, &model->state[i], &l))
      return KILN_DEVICE_BAD_CHECKPOINT;
  }
  if (k.tensors != wanted)
    return KILN_DEVICE_BAD_CHECKPOINT;
  /* Everything is checked: only now write the arena. */
  for (i = 0; i < model->num_state; ++i) {
    lookup l;
    int ok = 1;
    if (!is_state(&model->state[i]) || !locate(&h, &model->state[i], &l))
      continue;
    memcpy((char *)arena + l.entry->offset, h.data + l.begin,
           (size_t)entry_bytes(l.entry, &ok));
  }
  return KILN_DEVICE_OK;
}

/* Finds a metadata value (see kiln_checkpoint_metadata). */
typedef struct metadata_query {
  const char *key;
  string_target value;
  int found;
} metadata_query;

static int find_metadata(cursor *c, void *context) {
  metadata_query *q = (metadata_query *)context;
  int is_metadata;
  if (!read_string_equal(c, "__metadata__", &is_metadata) || !expect(c, ':'))
    return 0;
  return is_metadata ? read_metadata(c, q->key, &q->value, &q->found) : skip_value(c, 1);
}

int kiln_checkpoint_metadata(const void *buffer, size_t bytes, const char *key, char *value,
                             size_t capacity) {
  header h;
  metadata_query q;
  if (!key || !value || !capacity)
    return KILN_DEVICE_INVALID_ARGUMENT;
  if (!read_header(buffer, bytes, &h))
    return KILN_DEVICE_BAD_CHECKPOINT;
  memset(&q, 0, sizeof q);
  q.key = key;
  q.value.out = value;
  q.value.capacity = capacity;
  if (!for_each_member(&h, find_metadata, &q))
    return KILN_DEVICE_BAD_CHECKPOINT;
  if (!q.found)
    return KILN_DEVICE_INVALID_ARGUMENT;
  return q.value.length < capacity ? KILN_DEVICE_OK : KILN_DEVICE_BUFFER_TOO_SMALL;
}
