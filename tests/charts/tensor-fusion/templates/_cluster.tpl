{{- define "tensor-fusion.cluster" -}}
{{- if .Values.cluster.enabled }}
---
apiVersion: tensor-fusion.ai/v1
kind: TensorFusionCluster
metadata:
  name: {{ .Values.cluster.name }}
  annotations:
    helm.sh/resource-policy: keep
spec:
  gpuPools:
    - name: {{ .Values.cluster.pool.name }}
      isDefault: true
      specTemplate:
        nodeManagerConfig:
          nodePoolRollingUpdatePolicy:
            autoUpdateHypervisor: true
            autoUpdateWorker: true
            autoUpdateClient: true
            batchInterval: 10m
            batchPercentage: 100
{{- end }}
{{- end -}}
