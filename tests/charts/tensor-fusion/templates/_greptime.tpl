{{- define "tensor-fusion.greptime" -}}
{{- if .Values.greptime.installStandalone }}
---
apiVersion: v1
kind: Namespace
metadata:
  name: greptimedb
---
apiVersion: v1
kind: Service
metadata:
  name: greptimedb-standalone
  namespace: greptimedb
  labels:
    app.greptime.io/component: greptimedb-standalone
spec:
  selector:
    app.greptime.io/component: greptimedb-standalone
  ports:
    - {name: grpc, port: 4001, targetPort: 4001}
    - {name: http, port: 4000, targetPort: 4000}
    - {name: mysql, port: 4002, targetPort: 4002}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-greptimedb-standalone
  namespace: greptimedb
  labels:
    app.greptime.io/component: greptimedb-standalone
spec:
  replicas: 1
  serviceName: ""
  selector:
    matchLabels:
      app.greptime.io/component: greptimedb-standalone
  template:
    metadata:
      labels:
        app.greptime.io/component: greptimedb-standalone
    spec:
      containers:
        - name: standalone
          image: docker.io/greptime/greptimedb:latest
          args: [standalone, start, --mysql-addr, "0.0.0.0:4002"]
          volumeMounts:
            - name: datanode
              mountPath: /data/greptimedb
  volumeClaimTemplates:
    - apiVersion: v1
      kind: PersistentVolumeClaim
      metadata:
        name: datanode
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 20Gi
        volumeMode: Filesystem
  persistentVolumeClaimRetentionPolicy:
    whenDeleted: Retain
    whenScaled: Retain
{{- end }}
{{- end -}}
