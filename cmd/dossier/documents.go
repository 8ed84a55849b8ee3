package main

import (
	"context"
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/adapters/blobstore"
	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/httpapi"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// DocumentConfig configures the members' deposits of documents (issue 14): where the files go, the counts and
// limits, the medical service's address, and the orphan sweep.
type DocumentConfig struct {
	BlobsURL              string        `name:"blobs-url" env:"DOSSIER_BLOBS_URL" help:"Blob store of the deposited files (gocloud.dev/blob URL). Empty: the directory --blobs-dir. Secret (may hold credentials); DOSSIER_BLOBS_URL_FILE reads it from a file."`
	BlobsDir              string        `name:"blobs-dir" env:"DOSSIER_BLOBS_DIR" default:"./var/blobs" help:"Local directory of the deposited files when no --blobs-url is set (files sealed with each member's data key)."`
	DepositMaxDocuments   int           `name:"deposit-max-documents" env:"DOSSIER_DEPOSIT_MAX_DOCUMENTS" default:"10" help:"Most documents in one deposit."`
	DepositMaxFiles       int           `name:"deposit-max-files" env:"DOSSIER_DEPOSIT_MAX_FILES" default:"5" help:"Most files (pages) per document."`
	DepositMaxBodyBytes   int64         `name:"deposit-max-body-bytes" env:"DOSSIER_DEPOSIT_MAX_BODY_BYTES" default:"52494336" help:"Largest deposit body (bytes); cut off as soon as it is passed."`
	DepositPerMinute      int           `name:"deposit-per-minute" env:"DOSSIER_DEPOSIT_PER_MINUTE" default:"6" help:"Deposits a member may send per minute, on average (refused ones count too)."`
	DepositBurst          int           `name:"deposit-burst" env:"DOSSIER_DEPOSIT_BURST" default:"10" help:"Deposits a member may send at once before the per-minute rate applies."`
	MedicalServiceAddress string        `name:"medical-service-address" env:"DOSSIER_MEDICAL_SERVICE_ADDRESS" default:"MSA, service du contrôle médical, à l'attention du médecin-conseil (sous pli confidentiel)" help:"Postal address of the fund's medical service, told to members who try to deposit a medical document."`
	BlobSweepInterval     time.Duration `name:"blob-sweep-interval" env:"DOSSIER_BLOB_SWEEP_INTERVAL" default:"1h" help:"How often stored files no deposit references are looked for."`
	BlobSweepGrace        time.Duration `name:"blob-sweep-grace" env:"DOSSIER_BLOB_SWEEP_GRACE" default:"24h" help:"Age under which an unreferenced file is never swept (a deposit may still be in progress, or its event not projected yet)."`
}

// openBlobs opens the blob store of the deposited files, sealed with the key store's keys.
func (a *app) openBlobs(ctx context.Context) (*blobstore.Store, error) {
	u := a.cfg.BlobsURL
	if u == "" {
		var err error
		if u, err = blobstore.FileURL(a.cfg.BlobsDir); err != nil {
			return nil, fmt.Errorf("blobs-dir: %w", err)
		}
	}
	return blobstore.Open(ctx, u, a.stores.Keys)
}

// documentCommands builds the deposit commands over the blob store.
func (a *app) documentCommands(rt command.Runtime, blobs *blobstore.Store, cases *command.Cases) (*command.Documents, error) {
	return command.NewDocuments(rt, filecheck.Check, blobs, cases, command.DocumentLimits{
		MaxDocuments: a.cfg.DepositMaxDocuments, MaxFiles: a.cfg.DepositMaxFiles})
}

// useAttachmentFiles gives the conversation commands the deposits' file checker and blob store: a member's
// attachments follow the same file rules and are sealed and stored like deposited files.
func useAttachmentFiles(c *command.Conversations, blobs *blobstore.Store) {
	c.UseFiles(filecheck.Check, blobs)
}

// documentsHTTP is the deposit routes' configuration.
func (a *app) documentsHTTP() httpapi.DocumentsConfig {
	return httpapi.DocumentsConfig{MaxBodyBytes: a.cfg.DepositMaxBodyBytes, MedicalServiceAddress: a.cfg.MedicalServiceAddress,
		PerMemberPerMinute: a.cfg.DepositPerMinute, PerMemberBurst: a.cfg.DepositBurst}
}

// sweepBlobs deletes, every BlobSweepInterval, the stored files older than BlobSweepGrace that no recorded deposit
// references (a crash between storing and recording, a refused deposit whose clean-up failed). Safe on several
// replicas at once: deleting an orphan twice is harmless, and a referenced file is never deleted.
func (a *app) sweepBlobs(ctx context.Context, blobs *blobstore.Store, referenced blobstore.Referenced) error {
	if a.cfg.BlobSweepInterval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(a.cfg.BlobSweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			n, err := blobs.Sweep(ctx, a.cfg.BlobSweepGrace, referenced)
			if err != nil {
				a.logger.Warn("blob sweep failed", "component", "blobs", "err", err)
				continue
			}
			if n > 0 {
				a.logger.Info("orphan files swept", "component", "blobs", "count", n)
			}
		}
	}
}

// referencedBlobs asks every read model that references blobs (deposits, published documents, conversations'
// attachments) which of keys are referenced: the orphan sweep deletes none of those. A read model left out here
// would see its files swept as orphans once the grace period passed (TestConversationAttachmentsSurviveTheSweep).
func referencedBlobs(q readmodels.Queries) blobstore.Referenced {
	return func(ctx context.Context, keys []string) (map[string]bool, error) {
		refs := map[string]bool{}
		for _, ask := range []blobstore.Referenced{q.Deposits.Referenced, q.Inbox.Referenced, q.Conversations.Referenced} {
			more, err := ask(ctx, keys)
			if err != nil {
				return nil, err
			}
			for k, ok := range more {
				refs[k] = refs[k] || ok
			}
		}
		return refs, nil
	}
}
