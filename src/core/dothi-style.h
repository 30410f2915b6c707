/* dothi-style.h: how a layer is drawn: single, categorised and graduated
 * rules, stored as JSON in the registry (dothi_layers.style), with the
 * Vietnamese land-use and zoning colour conventions as defaults.
 * A style is reference counted and immutable once shared: render threads
 * read it concurrently, so callers change a copy (dothi_style_copy). */
#pragma once

#include <glib-object.h>
#include "dothi-layer-info.h"

G_BEGIN_DECLS

/* Straight (not premultiplied) RGBA, each 0..1. */
typedef struct {
  double r, g, b, a;
} DothiColor;

/* "#rrggbb" or "#rrggbbaa" (case-insensitive). */
gboolean  dothi_color_parse     (const char *text, DothiColor *color);
/* "#rrggbb", or "#rrggbbaa" when alpha < 1. */
char     *dothi_color_to_string (const DothiColor *color);

typedef enum {
  DOTHI_STYLE_SINGLE,
  DOTHI_STYLE_CATEGORISED,
  DOTHI_STYLE_GRADUATED,
} DothiStyleKind;

typedef enum {
  DOTHI_MARKER_CIRCLE,
  DOTHI_MARKER_SQUARE,
  DOTHI_MARKER_TRIANGLE,
  DOTHI_MARKER_DIAMOND,
} DothiMarker;

/* Sizes are in logical pixels (multiplied by the device scale when drawn). */
typedef struct {
  DothiColor  fill;          /* polygon interior, marker body */
  DothiColor  stroke;        /* polygon outline, line colour, marker outline */
  double      stroke_width;  /* 0 for no outline */
  double      marker_size;   /* marker diameter */
  DothiMarker marker;
} DothiSymbol;

typedef struct {
  char        *label;   /* legend text, UTF-8 */
  char        *value;   /* categorised: the field value as text */
  double       min;     /* graduated: min <= v < max */
  double       max;
  DothiSymbol  symbol;
} DothiStyleRule;

typedef struct {
  DothiStyleKind  kind;
  char           *field;        /* categorised/graduated: field name */
  GPtrArray      *rules;        /* DothiStyleRule*, in legend order */
  DothiSymbol     other;        /* single style, or values no rule matches */
  gboolean        draw_other;   /* FALSE: unmatched features are not drawn */
  char           *other_label;  /* legend text for @other, NULL for none */
  /* Polygon outlines are stroked only where a feature spans at least this
   * many pixels (DESIGN.md §5); the same rule holds for reference renders. */
  double          outline_min_px;
  char           *label_field;  /* NULL: no labels */
  /* Labels are shown only when the map resolution (metres per pixel) is at
   * most this value. */
  double          label_max_resolution;
  /* The layer is drawn only when the map resolution (metres per pixel)
   * is at most this value; 0 for every scale. */
  double          max_resolution;
} DothiStyle;

#define DOTHI_TYPE_STYLE (dothi_style_get_type ())

GType       dothi_style_get_type (void) G_GNUC_CONST;
DothiStyle *dothi_style_new      (DothiStyleKind kind);
DothiStyle *dothi_style_ref      (DothiStyle *style);
void        dothi_style_unref    (DothiStyle *style);
/* A deep copy with a reference count of one. */
DothiStyle *dothi_style_copy     (const DothiStyle *style);
/* Appends a rule; @value for categorised, @min/@max for graduated. */
void        dothi_style_add_rule (DothiStyle        *style,
                                  const char        *label,
                                  const char        *value,
                                  double             min,
                                  double             max,
                                  const DothiSymbol *symbol);

/* Stable JSON (keys in a fixed order, numbers with g_ascii_dtostr). */
char       *dothi_style_to_json       (const DothiStyle *style);
/* DOTHI_ERROR_INVALID_DATA, naming @layer, on malformed JSON. */
DothiStyle *dothi_style_new_from_json (const char  *json,
                                       const char  *layer,
                                       GError     **error);
/* A 64-bit hash of the JSON form: part of the tile cache key. */
guint64     dothi_style_get_revision  (const DothiStyle *style);

/* The default style for a layer of @info: by geometry kind, and
 * categorised with the conventional colours when a field holds land-use
 * codes (Circular 25/2014/TT-BTNMT: ODT, CLN, LUC…) or zoning functions
 * (Circular 04/2022/TT-BXD: “Đất ở hiện hữu”, “Đất cây xanh”…).
 * @values is a sample of distinct values per field: a GHashTable from field
 * name to a GPtrArray of char* (may be NULL). Layers of points get a marker,
 * lines a stroke, polygons a fill and a thin outline; a text field named like
 * a name or number (ten, ten_duong, so_thua, name…) becomes the label field. */
DothiStyle *dothi_style_new_default   (const DothiLayerInfo *info,
                                       GHashTable           *values);

/* The symbol for a feature whose style field holds @text (may be NULL),
 * or NULL when it is not drawn. For graduated styles @text is parsed as a
 * number. Thread-safe on a shared style. */
const DothiSymbol *dothi_style_lookup_text   (const DothiStyle *style,
                                              const char       *text);
const DothiSymbol *dothi_style_lookup_number (const DothiStyle *style,
                                              double            value);

/* Conventional land-use colour of a code (“ODT”), or FALSE if unknown. */
gboolean    dothi_style_land_use_color (const char *code, DothiColor *color);
/* Vietnamese name of a land-use code (“Đất ở tại đô thị”), or NULL. */
const char *dothi_style_land_use_name  (const char *code);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiStyle, dothi_style_unref)

G_END_DECLS
