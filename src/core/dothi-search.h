/* dothi-search.h: finds what a planner types in the search entry: a parcel
 * by map sheet and parcel number, a street or any named feature by name
 * (case, tone marks and đ/d folded), or a coordinate (VN-2000 X/Y in the
 * survey convention, or WGS 84 latitude/longitude). Also identify: the
 * features under a point. Runs on a connection of its own, so the _sync
 * functions may be called from any thread. */
#pragma once

#include <gio/gio.h>
#include "dothi-project.h"

G_BEGIN_DECLS

typedef enum {
  DOTHI_SEARCH_PARCEL,
  DOTHI_SEARCH_FEATURE,      /* a street or another named feature */
  DOTHI_SEARCH_COORDINATE,
} DothiSearchKind;

typedef struct {
  DothiSearchKind  kind;
  char            *layer;     /* table name; NULL for a coordinate */
  char            *layer_title;
  gint64           fid;       /* -1 for a coordinate */
  char            *label;     /* “Tờ 12, thửa 345”, “Nguyễn Trãi”… */
  char            *detail;    /* layer title, address, or the coordinate */
  double           bbox[4];   /* to fly to: project CRS, minx miny maxx maxy */
} DothiSearchResult;

void dothi_search_result_free (DothiSearchResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiSearchResult, dothi_search_result_free)

/* Lower case, tone marks and other diacritics removed, đ→d, NFC and
 * tone-placement variants (“Uỷ”/“Ủy”) made equal, runs of spaces made one:
 * “Nguyễn  Trãi” → “nguyen trai”. */
char      *dothi_text_fold (const char *text);

/* Best matches first, at most @limit. Opens the project at @path
 * read-only on a connection of its own. */
GPtrArray *dothi_search_sync   (const char    *path,
                                const char    *text,
                                guint          limit,
                                GCancellable  *cancellable,
                                GError       **error);
void       dothi_search_async  (const char          *path,
                                const char          *text,
                                guint                limit,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
GPtrArray *dothi_search_finish (GAsyncResult  *result,
                                GError       **error);

typedef struct {
  char      *layer;
  char      *layer_title;
  gint64     fid;
  GPtrArray *names;    /* char*: field names, in the layer's order */
  GPtrArray *values;   /* char*: display text, NULL for a null value */
  double     bbox[4];  /* the feature's extent, project CRS */
} DothiIdentifyResult;

void dothi_identify_result_free (DothiIdentifyResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiIdentifyResult, dothi_identify_result_free)

/* The features of @layers (NULL-terminated table names, top first; NULL
 * for every visible layer) at @x, @y in the project CRS, within
 * @tolerance metres (for points and lines), topmost first. */
GPtrArray *dothi_identify_sync   (const char          *path,
                                  const char * const  *layers,
                                  double               x,
                                  double               y,
                                  double               tolerance,
                                  GCancellable        *cancellable,
                                  GError             **error);
void       dothi_identify_async  (const char          *path,
                                  const char * const  *layers,
                                  double               x,
                                  double               y,
                                  double               tolerance,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
GPtrArray *dothi_identify_finish (GAsyncResult  *result,
                                  GError       **error);

G_END_DECLS
