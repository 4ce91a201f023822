package main

// Namespaces: a namespace is created Active with the "kubernetes" finalizer; deleting it marks it
// Terminating, the finalizer loop (nsfinalizer.go) empties it and removes the finalizer through
// namespaces/NAME/finalize, and only then does it go away.

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	storageerr "k8s.io/apiserver/pkg/storage/errors"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// namespaceREST is the namespaces resource: the store's operations, but not deletecollection, and a
// Delete that goes through Terminating.
type namespaceREST struct {
	store *genericregistry.Store
}

var (
	_ rest.Creater              = &namespaceREST{}
	_ rest.GracefulDeleter      = &namespaceREST{}
	_ rest.ShortNamesProvider   = &namespaceREST{}
	_ rest.SingularNameProvider = &namespaceREST{}
)

func (r *namespaceREST) New() runtime.Object     { return r.store.New() }
func (r *namespaceREST) NewList() runtime.Object { return r.store.NewList() }
func (r *namespaceREST) Destroy()                { r.store.Destroy() }
func (r *namespaceREST) NamespaceScoped() bool   { return false }
func (r *namespaceREST) ShortNames() []string    { return []string{"ns"} }
func (r *namespaceREST) GetSingularName() string { return "namespace" }

func (r *namespaceREST) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	return r.store.List(ctx, o)
}
func (r *namespaceREST) Watch(ctx context.Context, o *metainternalversion.ListOptions) (watch.Interface, error) {
	return r.store.Watch(ctx, o)
}
func (r *namespaceREST) Get(ctx context.Context, name string, o *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, o)
}
func (r *namespaceREST) Create(ctx context.Context, obj runtime.Object, v rest.ValidateObjectFunc,
	o *metav1.CreateOptions) (runtime.Object, error) {
	return r.store.Create(ctx, obj, v, o)
}
func (r *namespaceREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	cv rest.ValidateObjectFunc, uv rest.ValidateObjectUpdateFunc, force bool,
	o *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, cv, uv, force, o)
}
func (r *namespaceREST) ConvertToTable(ctx context.Context, obj, opts runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, obj, opts)
}
func (r *namespaceREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// Delete marks a namespace Terminating the first time; once its spec.finalizers are empty it
// deletes it; in between it answers 409, as Kubernetes does.
func (r *namespaceREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc,
	options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.store.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options == nil {
		options = metav1.NewDeleteOptions(0)
	}
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	if options.Preconditions.UID == nil {
		options.Preconditions.UID = &ns.UID
	} else if *options.Preconditions.UID != ns.UID {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v",
				*options.Preconditions.UID, ns.UID))
	}
	if options.Preconditions.ResourceVersion != nil && *options.Preconditions.ResourceVersion != ns.ResourceVersion {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v",
				*options.Preconditions.ResourceVersion, ns.ResourceVersion))
	}
	if ns.DeletionTimestamp.IsZero() {
		return r.markTerminating(ctx, name, options, deleteValidation)
	}
	if len(ns.Spec.Finalizers) != 0 {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."))
	}
	return r.store.Delete(ctx, name, deleteValidation, options)
}

// markTerminating sets the deletion timestamp and the Terminating phase.
func (r *namespaceREST) markTerminating(ctx context.Context, name string, options *metav1.DeleteOptions,
	deleteValidation rest.ValidateObjectFunc) (runtime.Object, bool, error) {
	key, err := r.store.KeyFunc(ctx, name)
	if err != nil {
		return nil, false, err
	}
	pre := storage.Preconditions{UID: options.Preconditions.UID, ResourceVersion: options.Preconditions.ResourceVersion}
	out := r.store.NewFunc()
	dryRun := len(options.DryRun) > 0
	err = r.store.Storage.GuaranteedUpdate(ctx, key, out, false, &pre,
		storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
			if err := deleteValidation(ctx, existing); err != nil {
				return nil, err
			}
			ns := existing.(*corev1.Namespace)
			if ns.DeletionTimestamp.IsZero() {
				now := metav1.Now()
				ns.DeletionTimestamp = &now
			}
			ns.Status.Phase = corev1.NamespaceTerminating
			if options.OrphanDependents != nil && !*options.OrphanDependents {
				ns.Finalizers = without(ns.Finalizers, metav1.FinalizerOrphanDependents)
			}
			return ns, nil
		}), dryRun, nil)
	if err != nil {
		err = storageerr.InterpretGetError(err, corev1.Resource("namespaces"), name)
		err = storageerr.InterpretUpdateError(err, corev1.Resource("namespaces"), name)
		if _, ok := err.(*apierrors.StatusError); !ok {
			err = apierrors.NewInternalError(err)
		}
		return nil, false, err
	}
	return out, false, nil
}

// without returns list less every occurrence of s.
func without(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// addNamespaces adds namespaces, namespaces/status and namespaces/finalize to a storage map.
func addNamespaces(storage map[string]rest.Storage, opts generic.RESTOptionsGetter) error {
	k := kind{gr: corev1.Resource("namespaces"), singular: "namespace",
		newObj:   func() runtime.Object { return &corev1.Namespace{} },
		newList:  func() runtime.Object { return &corev1.NamespaceList{} },
		strategy: namespaceStrategy()}
	store, err := newStore(k, opts)
	if err != nil {
		return err
	}
	store.ShouldDeleteDuringUpdate = func(ctx context.Context, key string, obj, existing runtime.Object) bool {
		ns := obj.(*corev1.Namespace)
		return len(ns.Spec.Finalizers) == 0 && genericregistry.ShouldDeleteDuringUpdate(ctx, key, obj, existing)
	}
	storage["namespaces"] = &namespaceREST{store: store}
	storage["namespaces/status"] = withStatus(store, statusStrategy(false, "v1", specOf))
	fin := newStrategy(false, apivalidation.NameIsDNSLabel, "v1")
	fin.prepareUpdate = func(obj, old runtime.Object) {
		obj.(*corev1.Namespace).Status = old.(*corev1.Namespace).Status
	}
	fin.reset = []fieldpath.Path{path("status")}
	storage["namespaces/finalize"] = &finalizeREST{withStatus(store, fin)}
	return nil
}

// finalizeREST is namespaces/NAME/finalize: PUT only.
type finalizeREST struct {
	status *statusREST
}

func (r *finalizeREST) New() runtime.Object { return r.status.New() }
func (r *finalizeREST) Destroy()            {}
func (r *finalizeREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	cv rest.ValidateObjectFunc, uv rest.ValidateObjectUpdateFunc, force bool,
	o *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.status.Update(ctx, name, objInfo, cv, uv, force, o)
}
func (r *finalizeREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.status.GetResetFields()
}

// namespaceStrategy: created Active with the "kubernetes" finalizer; spec.finalizers and status
// change only through /finalize and /status.
func namespaceStrategy() *strategy {
	st := newStrategy(false, apivalidation.NameIsDNSLabel, "v1")
	st.prepareCreate = func(obj runtime.Object) {
		ns := obj.(*corev1.Namespace)
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		for _, f := range ns.Spec.Finalizers {
			if f == corev1.FinalizerKubernetes {
				return
			}
		}
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	st.prepareUpdate = func(obj, old runtime.Object) {
		n, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
		n.Spec.Finalizers = o.Spec.Finalizers
		n.Status = o.Status
	}
	st.validate = func(obj runtime.Object) field.ErrorList {
		var errs field.ErrorList
		for i, f := range obj.(*corev1.Namespace).Spec.Finalizers {
			errs = append(errs, apivalidation.ValidateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
		}
		return errs
	}
	st.reset = []fieldpath.Path{path("status")}
	return st
}
