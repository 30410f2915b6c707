/* dothi-parcel.h: the cadastral operations: split a parcel by a drawn
 * line (tách thửa), merge adjacent parcels (hợp thửa), and the topology
 * check of a parcel layer (overlaps and gaps). Geometry with GEOS, in the
 * layer's CRS (metres, never Web Mercator). Split and merge build a
 * DothiChangeSet and apply it as one action (dothi-edit.h). */
#pragma once

#include <gio/gio.h>
#include "dothi-edit.h"

G_BEGIN_DECLS

/* What each new parcel's fields get. Fields not named keep the original
 * parcel's value (merge: the first parcel's). */
typedef enum {
  DOTHI_FIELD_RULE_COPY,       /* the original's value */
  DOTHI_FIELD_RULE_CLEAR,      /* NULL */
  DOTHI_FIELD_RULE_AREA,       /* the new geometry's area, m², 1 decimal */
  DOTHI_FIELD_RULE_NEXT_NUMBER,/* max(field) + 1 over the layer, per new parcel;
                                  merge: the smallest of the merged numbers */
  DOTHI_FIELD_RULE_SUM,        /* merge: the sum of the values */
} DothiFieldRule;

typedef struct _DothiParcelRules DothiParcelRules;

/* Defaults from the field names: an area field (dien_tich, area, …) gets
 * AREA, a parcel-number field (so_thua, …) NEXT_NUMBER, the rest COPY. */
DothiParcelRules *dothi_parcel_rules_new_default (const DothiLayerInfo *info);
void              dothi_parcel_rules_free (DothiParcelRules *rules);
void              dothi_parcel_rules_set  (DothiParcelRules *rules,
                                           const char       *field,
                                           DothiFieldRule    rule);
DothiFieldRule    dothi_parcel_rules_get  (DothiParcelRules *rules,
                                           const char       *field);

/* Splits parcel @fid of @layer by @line_wkb (ISO WKB LineString in the
 * layer CRS that crosses the parcel from outside to outside): the parcel is
 * deleted and two or more parcels inserted, one action. Refused (bad input)
 * when the line does not cut it in two, naming the parcel. Returns the
 * action id; *@new_fids (may be NULL) gets the new parcels' fids. */
gint64   dothi_parcel_split_sync (DothiProject      *project,
                                  const char        *layer,
                                  gint64             fid,
                                  GBytes            *line_wkb,
                                  DothiParcelRules  *rules,
                                  GArray           **new_fids,
                                  GError           **error);

/* Merges parcels @fids (at least two, each sharing a boundary with
 * another, within @tolerance metres) into one whose shared boundaries are
 * dissolved; refused when they are not adjacent, naming the parcel. */
gint64   dothi_parcel_merge_sync (DothiProject      *project,
                                  const char        *layer,
                                  const gint64      *fids,
                                  guint              n_fids,
                                  double             tolerance,
                                  DothiParcelRules  *rules,
                                  gint64            *new_fid,
                                  GError           **error);

typedef enum {
  DOTHI_TOPOLOGY_OVERLAP,
  DOTHI_TOPOLOGY_GAP,
} DothiTopologyKind;

typedef struct {
  DothiTopologyKind  kind;
  gint64             fid_a;     /* overlap: the two parcels; gap: a neighbour */
  gint64             fid_b;
  double             area;      /* m² */
  GBytes            *wkb;       /* the overlap or gap polygon, layer CRS */
} DothiTopologyProblem;

void dothi_topology_problem_free (DothiTopologyProblem *problem);

/* Overlaps larger than @min_area m² between parcels, and gaps (holes in
 * the union of the parcels inside their outer boundary) larger than
 * @min_area, within @bbox (layer CRS; NULL for the whole layer). */
GPtrArray *dothi_parcel_check_topology_sync (DothiProject  *project,
                                             const char    *layer,
                                             const double  *bbox,
                                             double         min_area,
                                             GCancellable  *cancellable,
                                             GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiParcelRules, dothi_parcel_rules_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiTopologyProblem, dothi_topology_problem_free)

G_END_DECLS
