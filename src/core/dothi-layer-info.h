/* dothi-layer-info.h: what the project knows of one layer (its registry
 * row), and the field and geometry vocabulary shared by import and export. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  DOTHI_GEOMETRY_KIND_NONE,            /* attribute-only table */
  DOTHI_GEOMETRY_KIND_MULTIPOINT,
  DOTHI_GEOMETRY_KIND_MULTILINESTRING,
  DOTHI_GEOMETRY_KIND_MULTIPOLYGON,
  DOTHI_GEOMETRY_KIND_GEOMETRY,        /* mixed layers */
} DothiGeometryKind;

typedef enum {
  DOTHI_FIELD_TEXT,
  DOTHI_FIELD_INTEGER,
  DOTHI_FIELD_REAL,
  DOTHI_FIELD_DATE,       /* ISO 8601 text, as GeoPackage stores it */
  DOTHI_FIELD_DATETIME,   /* ISO 8601 text */
  DOTHI_FIELD_BOOLEAN,    /* INTEGER 0/1 */
  DOTHI_FIELD_BLOB,
} DothiFieldType;

typedef struct {
  char           *name;   /* column name, UTF-8 NFC */
  DothiFieldType  type;
} DothiField;

#define DOTHI_TYPE_LAYER_INFO (dothi_layer_info_get_type ())

typedef struct {
  char              *name;        /* table name: an ASCII slug */
  char              *title;       /* human title, Vietnamese allowed */
  DothiGeometryKind  kind;
  gboolean           has_z;
  gboolean           has_m;
  int                srid;        /* 0 for attribute-only tables */
  GPtrArray         *fields;      /* DothiField*, without fid and geometry */
  char              *source;      /* file it came from, or NULL */
  char              *driver;      /* GDAL driver short name, or "EPANET" */
  char              *encoding;    /* source text encoding, or NULL */
  char              *operation;   /* PROJ operation used, NULL if none */
  char              *imported_at; /* ISO 8601 UTC */
  gint64             feature_count;
  double             extent[4];   /* minx, miny, maxx, maxy in the layer CRS */
  int                z_order;
  gboolean           visible;
  double             opacity;     /* 0..1 */
  char              *style;       /* JSON (dothi-style.h), NULL for default */
} DothiLayerInfo;

GType           dothi_layer_info_get_type (void) G_GNUC_CONST;
DothiLayerInfo *dothi_layer_info_new      (void);
DothiLayerInfo *dothi_layer_info_copy     (const DothiLayerInfo *info);
void            dothi_layer_info_free     (DothiLayerInfo *info);
void            dothi_layer_info_add_field (DothiLayerInfo *info,
                                            const char     *name,
                                            DothiFieldType  type);
/* Index of field @name in @info->fields, or -1. */
int             dothi_layer_info_find_field (const DothiLayerInfo *info,
                                             const char           *name);

DothiField     *dothi_field_new  (const char *name, DothiFieldType type);
void            dothi_field_free (DothiField *field);

/* "MULTIPOLYGON", ... as SpatiaLite's geometry_columns names them. */
const char     *dothi_geometry_kind_to_string (DothiGeometryKind kind);
DothiGeometryKind dothi_geometry_kind_from_string (const char *s);
/* Translated, for people: "polygons", "lines"... */
const char     *dothi_geometry_kind_to_label (DothiGeometryKind kind);
const char     *dothi_field_type_to_sql (DothiFieldType type);
const char     *dothi_field_type_to_string (DothiFieldType type);
DothiFieldType  dothi_field_type_from_string (const char *s);

/* Turns any text into an ASCII table/column slug: lower case, diacritics
 * stripped (đ → d), other characters to '_', never empty, never starting
 * with a digit. */
char           *dothi_slugify (const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiLayerInfo, dothi_layer_info_free)

G_END_DECLS
