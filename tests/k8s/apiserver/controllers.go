package main

// What kube-controller-manager and kube-apiserver's own controllers would do for these resources:
// the default namespaces exist, a Terminating namespace is emptied and finalized, and the groups of
// established CRDs are listed in the unaggregated /apis (kube-apiserver does that through the
// aggregator, which this server does not run).

import (
	"context"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	clientdiscovery "k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// systemNamespaces are created at start, as kube-apiserver does.
var systemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease}

// createSystemNamespaces creates the system namespaces, retrying until each exists.
func createSystemNamespaces(ctx context.Context, client kubernetes.Interface) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, name := range systemNamespaces {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
			_, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				klog.V(2).InfoS("creating system namespace", "name", name, "err", err)
				return false, nil
			}
		}
		return true, nil
	})
}

// nsFinalizer empties Terminating namespaces, then removes their "kubernetes" finalizer.
type nsFinalizer struct {
	client kubernetes.Interface
	dyn    dynamic.Interface
}

// run polls the namespaces until ctx ends.
func (f *nsFinalizer) run(ctx context.Context, every time.Duration) {
	wait.UntilWithContext(ctx, f.sweep, every)
}

// sweep finalizes every Terminating namespace once.
func (f *nsFinalizer) sweep(ctx context.Context) {
	list, err := f.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		klog.V(2).InfoS("listing namespaces", "err", err)
		return
	}
	var resources []schema.GroupVersionResource
	for i := range list.Items {
		ns := &list.Items[i]
		if ns.DeletionTimestamp == nil {
			continue
		}
		if resources == nil {
			if resources, err = f.namespacedResources(); err != nil {
				klog.InfoS("discovering namespaced resources", "err", err)
				return
			}
		}
		if err := f.finalize(ctx, ns, resources); err != nil {
			klog.InfoS("finalizing namespace", "name", ns.Name, "err", err)
		}
	}
}

// namespacedResources lists the namespaced resources that can be listed and deleted.
func (f *nsFinalizer) namespacedResources() ([]schema.GroupVersionResource, error) {
	lists, err := clientdiscovery.ServerPreferredNamespacedResources(f.client.Discovery())
	if err != nil && len(lists) == 0 {
		return nil, err
	}
	lists = clientdiscovery.FilteredBy(clientdiscovery.SupportsAllVerbs{Verbs: []string{"list", "delete"}}, lists)
	set, err := clientdiscovery.GroupVersionResources(lists)
	if err != nil {
		return nil, err
	}
	out := make([]schema.GroupVersionResource, 0, len(set))
	for gvr := range set {
		out = append(out, gvr)
	}
	return out, nil
}

// finalize deletes what a namespace holds; once nothing is left it removes the "kubernetes"
// finalizer and deletes the namespace for good.
func (f *nsFinalizer) finalize(ctx context.Context, ns *corev1.Namespace, resources []schema.GroupVersionResource) error {
	left := 0
	for _, gvr := range resources {
		n, err := f.empty(ctx, f.dyn.Resource(gvr).Namespace(ns.Name))
		if err != nil {
			return err
		}
		left += n
	}
	if left > 0 {
		return nil
	}
	var kept []corev1.FinalizerName
	for _, fin := range ns.Spec.Finalizers {
		if fin != corev1.FinalizerKubernetes {
			kept = append(kept, fin)
		}
	}
	if len(kept) != len(ns.Spec.Finalizers) {
		ns.Spec.Finalizers = kept
		if _, err := f.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
			return ignoreNotFound(err)
		}
	}
	if len(kept) > 0 {
		return nil
	}
	return ignoreNotFound(f.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}))
}

// empty deletes every object of one resource in a namespace and returns how many were there.
func (f *nsFinalizer) empty(ctx context.Context, r dynamic.ResourceInterface) (int, error) {
	list, err := r.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	for i := range list.Items {
		if list.Items[i].GetDeletionTimestamp() == nil {
			err := r.Delete(ctx, list.Items[i].GetName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return 0, err
			}
		}
	}
	return len(list.Items), nil
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// crdGroups keeps the groups of established CRDs in a server's unaggregated /apis list.
type crdGroups struct {
	mu      sync.Mutex
	store   cache.Store
	manager discovery.GroupManager
	known   map[string]bool
}

// watchCRDGroups updates manager whenever a CRD changes.
func watchCRDGroups(informer cache.SharedIndexInformer, manager discovery.GroupManager) error {
	g := &crdGroups{store: informer.GetStore(), manager: manager, known: map[string]bool{}}
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { g.sync() },
		UpdateFunc: func(interface{}, interface{}) { g.sync() },
		DeleteFunc: func(interface{}) { g.sync() },
	})
	return err
}

// sync recomputes the CRD groups and their served versions, newest first.
func (g *crdGroups) sync() {
	g.mu.Lock()
	defer g.mu.Unlock()
	versions := map[string][]string{}
	for _, o := range g.store.List() {
		crd, ok := o.(*apiextensionsv1.CustomResourceDefinition)
		if !ok || !established(crd) {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Served && !contains(versions[crd.Spec.Group], v.Name) {
				versions[crd.Spec.Group] = append(versions[crd.Spec.Group], v.Name)
			}
		}
	}
	for group, vs := range versions {
		sort.Slice(vs, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(vs[i], vs[j]) > 0 })
		apiGroup := metav1.APIGroup{Name: group}
		for _, v := range vs {
			apiGroup.Versions = append(apiGroup.Versions, metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
		}
		apiGroup.PreferredVersion = apiGroup.Versions[0]
		g.manager.AddGroup(apiGroup)
	}
	for group := range g.known {
		if _, ok := versions[group]; !ok {
			g.manager.RemoveGroup(group)
			delete(g.known, group)
		}
	}
	for group := range versions {
		g.known[group] = true
	}
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
